"""Database access: schema, engine and every query of the project."""
