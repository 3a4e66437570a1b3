"""Database access: schema, engine (connections, time limits, errors for people), rollups, bulk load and queries."""
