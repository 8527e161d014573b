"""The ``uab`` command line: Typer commands that parse options, call services, print."""
