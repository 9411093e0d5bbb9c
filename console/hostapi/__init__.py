"""The host API (`/api/agent/`): the only door of a host's agent into the console.

An agent holds its host's key and nothing else (no database, no secret key, no other host's
key). With it, here, it may only: exchange a join token for its key (`join`, the one call
without a key), say it started (`hello`: the jobs its dead predecessor left running fail) and
that it lives (`heartbeat`, with its capacity), claim one of its own queued jobs and get what
the job is (`jobs/{id}/claim`), report the job's output and outcome with what its engine says
(`jobs/{id}/output`, `jobs/{id}/finish`), fetch its build's context and the images the build
may use, report its containers and images (`sync`), and leave. Every request is about the
host the key is of: there is no way to name another (`views.py`).

Every refusal (a wrong key, another host's or an unknown job, a report about another host's
container, a route that does not exist) is audited with the host as actor (`refusals.py`).
The same key used on the user API is refused and audited there (`fence.py`).

- `authentication`: the key in `Authorization: Host <key>`.
- `views`, `urls`: the endpoints.
- `jobs`: what a claimed job is, for the agent (`spec`), and a finished job's report applied
  (`settle`).
- `reconcile`: the database brought in line with what a host's engine reports.
"""
