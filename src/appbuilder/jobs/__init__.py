"""Generation runs as durable jobs: the pipeline, the event log, and the two queues that
carry runs to it (procrastinate on PostgreSQL, an in-process runner on SQLite)."""
