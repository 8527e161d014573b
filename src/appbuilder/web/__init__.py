"""The HTTP face of the platform: a FastAPI app with JSON routers under /api."""
