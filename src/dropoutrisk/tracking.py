"""MLflow tracking (an edge module): opt-in, SQLite by default, no student-level rows."""
