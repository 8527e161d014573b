"""The generation engine: a spec in, a verified file tree out."""
