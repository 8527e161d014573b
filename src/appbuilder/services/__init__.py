"""Service layer: business rules over a SQLAlchemy session. No web or CLI imports here."""
