"""The host agent: everything that runs on a host and not in the web process.

- `tasks`: the Celery tasks a host's worker runs (`celery -A console worker -Q host.<name>`),
  one handler per job kind, and `image_tasks` for pulls and builds; `output` keeps what they
  print on the job row.
- `worker`: what makes a worker a host (registering it, failing what a dead predecessor left
  running, the heartbeat, the periodic sync).
- `reconcile`: the database brought in line with the host's engine.
- `specs`, `team_networks`: from the console's rows to the engine's words.
- `bridge`, `bridge_logs`, `bridge_terminals`: the host's stream bridge (terminals and log
  follows), `manage.py stream_bridge`.
- `engine`: the one `runtime.api.Engine` of the process.

This package is the only part of `console/` that runs the engine: it imports `runtime`
freely, and nothing of the web side imports it (tests/console/test_boundaries.py). It reaches
the web side through the database, the job queue `host.<name>` and the Channels layer.
"""
