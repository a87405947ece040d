"""An offline simulator of the Eduframe Admin API (see docs in README.md beside this file)."""
