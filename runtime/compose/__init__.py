"""The Compose Specification in the engine: `moor compose`, and what the console's stacks
call through the host's worker.

    project = compose.load(files=["compose.yaml"])      # or content=TEXT, environ={...}
    plan = compose.plan_up(engine, project)              # what must change, and why
    plan.to_dict()                                       # (a dry run shows this)
    compose.up(engine, plan, progress=print)             # carry it out, step by step
    compose.down(engine, project.name, project, volumes=True)

The modules, in the order a file goes through them: `source` (reading, YAML, bombs, lines),
`interpolation` (variables, `.env`), `schema` (the Compose Specification's JSON schema),
`support` (the keys Moorage runs), `merge` (several files), `normalize` and `project` (the
canonical model and its checks), `containers` (labels, config hash, engine options), `plan`
and `apply`.
"""

from runtime.compose.apply import down, restart, start, stop, up
from runtime.compose.errors import ComposeError
from runtime.compose.plan import Plan, plan_up
from runtime.compose.project import Project, load

__all__ = ["ComposeError", "Plan", "Project", "down", "load", "plan_up", "restart", "start",
           "stop", "up"]
