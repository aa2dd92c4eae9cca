"""dropoutrisk.models."""
