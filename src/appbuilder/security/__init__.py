"""Security primitives: password hashing, API key secrets, encryption at rest."""
