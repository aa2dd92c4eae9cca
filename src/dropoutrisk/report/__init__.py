"""dropoutrisk.report."""
