"""Stacks: the kinds of app the generator builds, each with its blueprints and rules."""
