"""Database layer: models, engine and sessions, migrations, backup."""
