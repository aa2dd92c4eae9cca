"""The package version, in one place (imported by the root package and the reports)."""

__version__ = "0.1.0.dev0"
