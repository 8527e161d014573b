"""Ultimate App Builder: describe an application; agents build, prove, push and deploy it."""

__version__ = "0.1.0"
