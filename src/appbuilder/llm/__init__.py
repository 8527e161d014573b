"""Language models: which one to call, the client that calls it, and what each call cost.

pydantic-ai is the one client layer (OpenAI, Anthropic and OpenAI-compatible servers);
this package turns settings into a model, runs calls with the platform's retry and
timeout rules, and records each call (tokens, cost, time) for the Generation rows.
"""
