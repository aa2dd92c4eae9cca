"""dropoutrisk.features."""
