"""The agents that build an app, one module per role, and the orchestrator that runs them."""
