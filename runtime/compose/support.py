"""Which keys of the Compose Specification Moorage runs.

A key the spec defines but Moorage does not implement is an error that names the key and its
line, never silently ignored. Extension keys (`x-...`) are the spec's way to carry anything,
and are allowed everywhere. The checks run on each file after schema validation, so the
shapes are already the spec's.

A tree of `dict`s: a key maps to `ANY` (the value is taken as a whole), a nested `dict` (the
keys of a mapping; `"*"` for names the user chooses), or `Each(...)` (the mapping items of a
sequence, in its long syntax). A short form where the tree expects a mapping (a string
`build`, a list of names for `networks`) is already covered by the schema.
"""

from runtime.compose.errors import ComposeError
from runtime.compose.schema import dotted

ANY = True


class Each:
    def __init__(self, keys: dict):
        self.keys = keys


SERVICE = {
    "image": ANY,
    "build": {"context": ANY, "dockerfile": ANY, "args": ANY, "target": ANY},
    "command": ANY, "entrypoint": ANY,
    "environment": ANY,
    "env_file": Each({"path": ANY, "required": ANY}),
    "ports": Each({"target": ANY, "published": ANY, "host_ip": ANY, "protocol": ANY}),
    "expose": ANY,
    "volumes": Each({"type": ANY, "source": ANY, "target": ANY, "read_only": ANY,
                     "bind": {"create_host_path": ANY}}),
    "networks": {"*": {"aliases": ANY}},
    "depends_on": {"*": {"condition": ANY, "restart": ANY, "required": ANY}},
    "healthcheck": {"test": ANY, "interval": ANY, "timeout": ANY, "retries": ANY,
                    "start_period": ANY, "start_interval": ANY, "disable": ANY},
    "restart": ANY,
    "user": ANY, "working_dir": ANY, "hostname": ANY, "container_name": ANY,
    "labels": ANY,
    "deploy": {"resources": {"limits": {"memory": ANY, "cpus": ANY, "pids": ANY}}},
    "mem_limit": ANY, "cpus": ANY, "pids_limit": ANY,
    "read_only": ANY, "cap_add": ANY, "cap_drop": ANY,
    "stop_signal": ANY, "stop_grace_period": ANY,
    "init": ANY, "tty": ANY, "stdin_open": ANY,
    "profiles": ANY,
}

TOP = {
    "version": ANY,     # obsolete, ignored as the spec says
    "name": ANY,
    "services": {"*": SERVICE},
    "networks": {"*": {"external": ANY, "name": ANY, "labels": ANY, "driver": ANY,
                       "internal": ANY}},
    "volumes": {"*": {"external": ANY, "name": ANY, "labels": ANY, "driver": ANY}},
}


def check(document, data) -> None:
    """Refuse the first key of `data` (one file) that Moorage does not support."""
    _walk(document, data, TOP, ())


def _walk(document, value, spec, path):
    if spec is ANY or value is None:
        return
    if isinstance(spec, Each):
        if isinstance(value, list):
            for index, item in enumerate(value):
                _walk(document, item, spec.keys, path + (index,))
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        inner = spec.get(key, spec.get("*"))
        if inner is None:
            raise ComposeError(f"{document.where(path + (key,))}: {dotted(path + (key,))}: "
                               f"Moorage does not support this key of the Compose "
                               f"Specification")
        _walk(document, item, inner, path + (key,))
