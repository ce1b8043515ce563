"""The command line: ``python -m simulator``."""
