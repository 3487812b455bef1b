"""notify's rules in plain Python: templates, SMS encoding, quiet hours, preferences, signatures."""
