"""``python -m appbuilder`` runs the ``uab`` command line."""

from appbuilder.cli.main import run

run()
