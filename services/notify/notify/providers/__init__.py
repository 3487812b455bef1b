"""Delivery providers behind small interfaces, so a city can plug in its own operator."""
