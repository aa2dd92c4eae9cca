"""dropoutrisk.explain."""
