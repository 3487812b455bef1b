"""notify: renders the citizen's notices and sends them by SMS and e-mail."""
