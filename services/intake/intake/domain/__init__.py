"""Intake's rules in plain Python: no nameko, no SQLAlchemy."""
