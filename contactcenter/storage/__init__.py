"""Storage: the only place that talks SQL. SQLModel tables, the async engine, migrations."""
