"""Reading and writing folders of canonical tables (an edge module)."""
