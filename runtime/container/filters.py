"""Docker's filters of a container listing (`ps --filter`, the Engine API's
`GET /containers/json?filters=`), as its daemon reads them: id and name (regular
expressions), status, label, exited, ancestor (and images made from it), before, since,
network, volume, publish, expose, health."""

import re

from runtime.errors import InvalidArgument, MoorError

STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")
FILTERS = ("ancestor", "before", "exited", "expose", "health", "id", "label", "name",
           "network", "publish", "since", "status", "volume")


class ContainerFilters:
    """Docker's filters of a container listing (its daemon's list.go), `wanted` as
    {key: [values]}: a container must match every key given, and one of the values of each
    (all of them for `label`). Bad values raise InvalidArgument here, before any listing."""

    def __init__(self, engine, wanted: dict[str, list[str]]):
        self.engine = engine
        self.wanted = wanted
        unknown = sorted(set(wanted) - set(FILTERS))
        if unknown:
            raise InvalidArgument(f"invalid filter '{unknown[0]}'")
        for key, allowed in (("status", STATES), ("health", HEALTH)):
            bad = [value for value in self.wanted.get(key, ()) if value not in allowed]
            if bad:
                raise InvalidArgument(f"invalid filter '{key}={bad[0]}'")
        try:
            self.exit_codes = {int(value) for value in self.wanted.get("exited", ())}
        except ValueError as error:
            raise InvalidArgument(f"invalid filter 'exited': {error}") from None
        self.publish = self._ports("publish")
        self.expose = self._ports("expose")
        self.ancestors = self._ancestors()
        # `before`/`since` name containers, which must exist (as in Docker).
        self.before = [engine.container(ref).id for ref in self.wanted.get("before", ())]
        self.since = [engine.container(ref).id for ref in self.wanted.get("since", ())]

    @property
    def show_all(self) -> bool:
        """As Docker: asking for exited or created containers lists them without -a."""
        return bool({"exited", "created"} & set(self.wanted.get("status", ())))

    def _ports(self, key: str) -> set[str]:
        """`80`, `80/udp`, `8000-8080/tcp` -> {"80/tcp", ...}."""
        ports = set()
        for value in self.wanted.get(key, ()):
            if ":" in value:
                raise InvalidArgument(f"filter for '{key}' should not contain ':': {value}")
            numbers, _, proto = value.partition("/")
            first, _, last = numbers.partition("-")
            try:
                start, end = int(first), int(last or first)
            except ValueError:
                raise InvalidArgument(f"invalid port range for '{key}': {value}") from None
            if not 0 < start <= end <= 65535:
                raise InvalidArgument(f"invalid port range for '{key}': {value}")
            ports.update(f"{number}/{proto or 'tcp'}" for number in range(start, end + 1))
        return ports

    def _ancestors(self) -> set[str] | None:
        """The images named and every image made from them (Docker's ancestor: an image the
        container's image descends from); an unknown image matches nothing."""
        if "ancestor" not in self.wanted:
            return None
        store = self.engine.store
        found = set()
        for ref in self.wanted["ancestor"]:
            try:
                found.add(store.resolve(ref))
            except MoorError:
                continue
        children: dict[str, list[str]] = {}
        for image_id in store.image_ids():
            try:
                children.setdefault(store.parent(image_id), []).append(image_id)
            except MoorError:
                continue
        pending = list(found)
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def apply(self, summaries: list[dict], details) -> list[dict]:
        """The summaries (newest first) that pass, `details(id)` giving a container's inspect
        document when a filter needs it."""
        kept, before = [], set(self.before)
        for summary in summaries:
            if summary["Id"] in self.since:
                break
            if before:
                before.discard(summary["Id"])
                continue
            if self.matches(summary, lambda summary=summary: details(summary["Id"])):
                kept.append(summary)
        return kept

    def matches(self, summary: dict, details) -> bool:
        wanted = self.wanted

        def any_match(key: str, text: str) -> bool:
            for pattern in wanted[key]:
                try:
                    if re.search(pattern, text):
                        return True
                except re.error:
                    continue
            return False

        if "id" in wanted and not any_match("id", summary["Id"]):
            return False
        # A name matches with its leading / or without it, as in Docker.
        if "name" in wanted and not any(any_match("name", name) or
                                        any_match("name", name.lstrip("/"))
                                        for name in summary["Names"]):
            return False
        if "status" in wanted and summary["State"] not in wanted["status"]:
            return False
        if "label" in wanted:
            from runtime.image.listing import labels_match
            if not labels_match(wanted["label"], summary["Labels"] or {}):
                return False
        if self.exit_codes and not (summary["State"] in ("exited", "dead") and
                                    summary["ExitCode"] in self.exit_codes):
            return False
        if self.ancestors is not None and summary["ImageID"] not in self.ancestors:
            return False
        if "health" in wanted and ((summary.get("Health") or {}).get("Status") or "none") \
                not in wanted["health"]:
            return False
        if not ({"network", "volume", "publish", "expose"} & set(wanted)):
            return True
        document = details()
        if "network" in wanted and not self._on_network(document):
            return False
        if "volume" in wanted and not self._has_volume(document):
            return False
        bindings = set((document.get("HostConfig") or {}).get("PortBindings") or {})
        exposed = set((document.get("Config") or {}).get("ExposedPorts") or {}) | bindings
        if (document.get("HostConfig") or {}).get("PublishAllPorts"):
            bindings |= exposed
        if self.publish and not self.publish & bindings:
            return False
        if self.expose and not self.expose & exposed:
            return False
        return True

    def _on_network(self, document: dict) -> bool:
        """A network the container is on, by name or ID prefix (the one it asked for, when
        it has not run yet)."""
        networks = (document.get("NetworkSettings") or {}).get("Networks") or {}
        names = set(networks) | {(document.get("HostConfig") or {}).get("NetworkMode")}
        ids = [(network or {}).get("NetworkID") or "" for network in networks.values()]
        return any(value in names or any(i and i.startswith(value) for i in ids)
                   for value in self.wanted["network"])

    def _has_volume(self, document: dict) -> bool:
        """A mount by its volume's name (its source, for a bind) or its destination."""
        names = set()
        for mount in document.get("Mounts") or []:
            names.add(mount.get("Name") or mount.get("Source"))
            names.add(mount.get("Destination"))
        return bool(names & set(self.wanted["volume"]))
