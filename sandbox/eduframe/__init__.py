"""An offline simulator of the Eduframe Admin API; README.md beside this file lists the modules and choices."""
