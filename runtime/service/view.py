"""The service's view of an engine root's containers, in memory, for `ps` (`moor ps` run by
the service, `GET /containers/json`): the records of every container, re-read only when
their files changed, instead of reading every container's files for each listing.

The truth stays on disk (`runtime.container.state`): the view is brought up to date before
each listing with one `listdir` of the containers directory and two `stat`s per container
(its `container.json` and `state.json`, which the engine only ever replaces whole, by a
rename), and a record is re-read when either file's identity (inode, size, times) changed
or was written so recently that a second write within the file system's timestamp
granularity could hide behind the same times. A listing is then the engine's own
(`Engine.containers`, given the records instead of reading them): it folds in conmon's exit
file and a vanished monitor (`Container.refresh`), and summarizes. So a view is never staler
than the files, and a service started later (or restarted) begins with a full scan.

(The events journal names what changed, but not every change of a record is an event, a
restart policy's `restarting` for one: a view driven by it alone could show such a change
late. Two `stat`s per container cost about 4 ms for 200.)
"""

import os
import threading
import time

from runtime.container.state import Container

# A file changed less than this long ago is read again at the next listing: two writes in
# one tick of the file system's clock can leave the same inode, size and times behind.
RECENT_NS = 100_000_000


def _signature(path: str):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class ContainerView:
    """Every container of `engine`'s root as a `Container` record; `containers(all)` answers
    as `Engine.containers(all)` does. Safe to share between threads."""

    def __init__(self, engine):
        self.engine = engine
        self._records: dict[str, tuple[tuple, Container]] = {}
        self._lock = threading.Lock()
        self.reads = 0              # records read from disk (full scan included), for tests

    def refresh(self) -> None:
        """Bring the records up to date with the files (see the module's docstring)."""
        directory = self.engine.paths.containers
        try:
            entries = [entry for entry in os.listdir(directory) if len(entry) == 64]
        except FileNotFoundError:
            entries = []
        recent = time.time_ns() - RECENT_NS
        with self._lock:
            fresh = {}
            for entry in entries:
                path = os.path.join(directory, entry)
                signature = (_signature(os.path.join(path, "container.json")),
                             _signature(os.path.join(path, "state.json")))
                known = self._records.get(entry)
                if known is not None and known[0] == signature and not any(
                        part is not None and part[3] >= recent for part in signature):
                    fresh[entry] = known
                    continue
                if signature[0] is None:
                    continue        # being made (or removed): not a container yet
                record = Container.load(path)
                self.reads += 1
                if record is not None:
                    fresh[entry] = (signature, record)
            self._records = fresh

    def records(self) -> list[Container]:
        """Copies of the records (a listing folds exit files into its copies only). A
        listing only ever sets a state's top-level keys (`Container.refresh`, a settled
        freeze), so each copy has a state dict of its own and shares the values inside
        it: a deep copy of 200 states was a quarter of a `ps -a`."""
        with self._lock:
            held = [record for _, record in self._records.values()]
        return [Container(record.dir, record.config, dict(record.state)) for record in held]

    def containers(self, all: bool = False, refresh: bool = True) -> list[dict]:
        """`Engine.containers(all)` of the records (refreshed first, unless the caller just
        did): the engine's own listing, given the records instead of reading them."""
        if refresh:
            self.refresh()
        return self.engine.containers(all, records=self.records())
