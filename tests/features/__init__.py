"""Tests of dropoutrisk.features."""
