"""An in-memory stand-in for `runtime.api.Engine`, for unit tests of the console's side of the
boundary (the host tasks and the reconcile). It answers in the engine's Docker shapes; the
end-to-end tests use the real engine."""
import hashlib
import secrets
from datetime import datetime, timezone
from types import SimpleNamespace

from runtime.errors import Conflict, MoorError, NotFound


def now_text():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class FakeEngine:
    def __init__(self, root="/var/lib/moorage-fake"):
        self.paths = SimpleNamespace(root=root)
        self.containers_by_id = {}
        self.image_rows = {}
        self.calls = []
        self.failures = {}     # verb -> MoorError to raise
        self.diffs = {}
        self.networks = {}     # name -> labels
        self.volume_rows = {}  # name -> {"Name", "Labels", "CreatedAt", "Size", "Users"}
        self.groups_by_name = {}   # name -> {"Memory", "NanoCpus", "PidsLimit"}
        self.group_usage = {}      # name -> the Usage group_inspect answers

    def fail(self, verb, message):
        self.failures[verb] = MoorError(message)

    def _check(self, verb, *args):
        self.calls.append((verb, *args))
        if verb in self.failures:
            raise self.failures.pop(verb)

    def find(self, ref):
        matches = [c for c in self.containers_by_id.values()
                   if c["Id"] == ref or c["Id"].startswith(ref) or c["Name"] == ref]
        if len(matches) != 1:
            raise NotFound(f"No such container: {ref}")
        return matches[0]

    # containers
    def create(self, options):
        self._check("create", options)
        cid = options.get("id") or secrets.token_hex(32)
        name = options.get("name") or f"auto_{cid[:6]}"
        if any(c["Name"] == name for c in self.containers_by_id.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        self.containers_by_id[cid] = {"Id": cid, "Name": name, "Status": "created",
                                      "ExitCode": 0, "StartedAt": "", "FinishedAt": "",
                                      "Created": now_text(), "Image": options.get("image"),
                                      "Cmd": options.get("cmd") or [],
                                      "Labels": dict(options.get("labels") or {})}
        return cid

    def start(self, ref):
        self._check("start", ref)
        c = self.find(ref)
        c.update(Status="running", StartedAt=now_text(), FinishedAt="", ExitCode=0)

    def run(self, options):
        cid = self.create(options)
        try:
            self.start(cid)
        except MoorError:
            del self.containers_by_id[cid]
            raise
        return cid

    def stop(self, ref, timeout=None):
        self._check("stop", ref, timeout)
        self.find(ref).update(Status="exited", ExitCode=143, FinishedAt=now_text())

    def kill(self, ref, signal="KILL"):
        self._check("kill", ref, signal)
        self.find(ref).update(Status="exited", ExitCode=137, FinishedAt=now_text())

    def restart(self, ref, timeout=None):
        self._check("restart", ref, timeout)
        self.find(ref).update(Status="running", StartedAt=now_text(), ExitCode=0)

    def remove(self, ref, force=False, volumes=False):
        self._check("remove", ref, force, volumes)
        c = self.find(ref)
        if c["Status"] == "running" and not force:
            raise Conflict("You cannot remove a running container: stop it first or use force")
        del self.containers_by_id[c["Id"]]

    def inspect(self, ref):
        self._check("inspect", ref)
        c = self.find(ref)
        return {"Id": c["Id"], "Name": "/" + c["Name"], "Created": c["Created"],
                "State": {**({"Health": dict(c["Health"])} if c.get("Health") else {}),
                          "Status": c["Status"], "Running": c["Status"] == "running",
                          "ExitCode": c["ExitCode"], "StartedAt": c["StartedAt"] or
                          "0001-01-01T00:00:00Z", "FinishedAt": c["FinishedAt"] or
                          "0001-01-01T00:00:00Z"},
                "Image": c["Image"], "Config": {"Image": c["Image"], "Cmd": c["Cmd"],
                                                "Env": ["SECRET=hunter2"],
                                                "Labels": c.get("Labels", {})}}

    def containers(self, all=False):
        self._check("containers", all)
        return [{"Id": c["Id"], "Names": ["/" + c["Name"]], "Image": c["Image"],
                 "ImageID": c["Image"], "State": c["Status"], "ExitCode": c["ExitCode"],
                 "Created": 0, "Labels": c.get("Labels", {}),
                 **({"Health": dict(c["Health"])} if c.get("Health") else {})}
                for c in self.containers_by_id.values()
                if all or c["Status"] == "running"]

    # networks
    def network_inspect(self, ref):
        self._check("network_inspect", ref)
        if ref not in self.networks:
            raise NotFound(f"network {ref} not found")
        return {"Name": ref, "Id": hashlib.sha256(ref.encode()).hexdigest(),
                "Labels": dict(self.networks[ref])}

    def ensure_network(self, name, labels):
        self._check("ensure_network", name, dict(labels))
        if name in self.networks and self.networks[name] != labels:
            raise Conflict(f"network {name} exists on this host but was not made for its team")
        self.networks.setdefault(name, dict(labels))
        return self.network_inspect(name)

    # volumes
    def volume_create(self, name=None, labels=None, driver_opts=None, driver=None):
        self._check("volume_create", name, dict(labels or {}))
        name = name or secrets.token_hex(32)
        self.volume_rows.setdefault(name, {"Name": name, "Labels": dict(labels or {}),
                                           "CreatedAt": now_text(), "Size": 0, "Users": []})
        return self.volume_inspect(name)

    def volume_inspect(self, name):
        if name not in self.volume_rows:
            raise NotFound(f"No such volume: {name}")
        row = self.volume_rows[name]
        return {"Name": name, "Driver": "local", "Labels": dict(row["Labels"]),
                "CreatedAt": row["CreatedAt"], "Scope": "local", "Options": {},
                "Mountpoint": f"{self.paths.root}/volumes/{name}/_data"}

    def volumes(self, filters=None):
        self._check("volumes")
        return [self.volume_inspect(name) for name in sorted(self.volume_rows)]

    def volume_remove(self, name, force=False):
        self._check("volume_remove", name)
        if name not in self.volume_rows:
            raise NotFound(f"No such volume: {name}")
        if self.volume_rows[name]["Users"]:
            raise Conflict(f"remove {name}: volume is in use - {self.volume_rows[name]['Users']}")
        del self.volume_rows[name]

    def volume_users(self):
        return {name: list(row["Users"]) for name, row in self.volume_rows.items()
                if row["Users"]}

    def volume_size(self, name):
        return self.volume_rows[name]["Size"] if name in self.volume_rows else 0
    # groups
    def group_set(self, name, memory=None, cpus=None, pids=None):
        self._check("group_set", name, memory, cpus, pids)
        record = {"Name": name, "Memory": int(memory or 0),
                  "NanoCpus": int((cpus or 0) * 1e9), "PidsLimit": int(pids or 0)}
        self.groups_by_name[name] = record
        return dict(record)

    def groups(self):
        return [dict(record) for record in self.groups_by_name.values()]

    def group_inspect(self, name):
        if name not in self.groups_by_name:
            raise NotFound(f"No such group: {name}")
        return {**self.groups_by_name[name], "Usage": self.group_usage.get(name, {})}

    # images
    def add_image(self, tags, parent="", labels=None):
        image_id = "sha256:" + hashlib.sha256(repr(tags).encode()).hexdigest()
        self.image_rows[image_id] = {"Id": image_id, "RepoTags": list(tags), "ParentId": parent,
                                     "Created": 1_700_000_000, "Size": 1_234_567,
                                     "Labels": dict(labels or {})}
        return image_id

    def images(self, all=False):
        self._check("images")
        return list(self.image_rows.values())

    def image_inspect(self, ref):
        row = self.image_rows.get(ref) or next(
            (r for r in self.image_rows.values() if ref in r["RepoTags"]), None)
        if row is None:
            raise NotFound(f"No such image: {ref}")
        return {"Id": row["Id"], "RepoTags": row["RepoTags"], "Parent": row["ParentId"],
                "Created": "2026-11-29T06:00:00.123456789Z", "Size": row["Size"]}

    def diff(self, ref):
        self._check("diff", ref)
        return self.diffs.get(self.find(ref)["Id"], [("A", "/new", 4), ("C", "/etc", 0),
                                                     ("D", "/old", 0)])

    def boot(self):
        return []

    def tag(self, ref, target):
        self._check("tag", ref, target)
        image = self.image_inspect(ref)
        reference = target if ":" in target.rsplit("/", 1)[-1] else f"{target}:latest"
        for row in self.image_rows.values():
            if reference in row["RepoTags"]:
                row["RepoTags"].remove(reference)
        self.image_rows[image["Id"]]["RepoTags"].append(reference)
        return reference

    def commit(self, ref, repository=None, message=None, author=None, changes=(), pause=True):
        self._check("commit", ref, repository, message, author, tuple(changes))
        c = self.find(ref)
        return self.add_image([repository] if repository else [], parent=c["Image"] or "")
