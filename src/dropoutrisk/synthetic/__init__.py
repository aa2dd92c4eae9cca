"""Synthetic Swedish upper-secondary cohorts with a known true risk."""
