"""postal's rules in plain Python: the tariff, the pickup and delivery state machines, tracking keys."""
