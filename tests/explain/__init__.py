"""Tests of dropoutrisk.explain (a package, so its conftest has a unique module name)."""
