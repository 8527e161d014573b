"""JSON API routers; each parses input, calls a service, and shapes the response."""
