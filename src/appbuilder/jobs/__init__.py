"""The queues that carry runs to services/runs: procrastinate on PostgreSQL (``queue``), an
in-process runner on SQLite (``runner``), and ``setup``, which builds the one a deployment
uses. Thin adapters: the run domain itself lives in ``appbuilder.services.runs``."""
