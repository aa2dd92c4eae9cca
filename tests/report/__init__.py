"""Tests of dropoutrisk.report (a package, so its conftest has a unique module name)."""
