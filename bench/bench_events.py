"""What the events journal costs a `moor run`, measured inside the run, against the run itself.

1. `moor run -d --network none busybox true` (it writes create, network connect and start),
   through a small launcher (bin/moor's way: `python -IS`) that times every call that writes
   to the journal (runtime.events.emit, the first one's import of the journal module
   included) and reports the total at exit. Target: the journal adds < 1 ms to a run (p50),
   whatever the run itself takes (printed beside it as the anchor, with the share).
2. For information: the same command with the journal's append replaced by a no-op, against
   the journal as it is, timed from spawn to exit in interleaved rounds (the order reversed
   every other round). On a shared machine the spread of whole runs is far wider than a
   millisecond: this only shows that nothing else changed.
3. For information: one append on its own (an event of a container with a few labels), the
   median of 2,000.

Everything lives in a temporary engine root (its own busybox image), removed at the end.
Usage: `.venv/bin/python bench/bench_events.py [--runs N] [--json FILE]` (as root).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

LAUNCHER = """
import os, sys
sys.path.insert(0, {repo!r})
lib = os.path.join({repo!r}, ".venv", "lib")
for name in os.listdir(lib):
    sys.path.append(os.path.join(lib, name, "site-packages"))
import atexit, time
import runtime.events as events
spent = [0.0, 0]
if {silent!r}:
    from runtime.events import journal
    journal.append = lambda root, message: message
else:
    real_emit = events.emit
    def emit(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real_emit(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started
            spent[1] += 1
    events.emit = emit
    atexit.register(lambda: sys.stderr.write(f"journal: {{spent[1]}} {{spent[0]}}\\n"))
from runtime.cli import main
sys.exit(main())
"""


def timed(argv: list[str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{argv[-6:]} failed: {result.stderr.strip()}")
    return elapsed, result.stdout.strip(), result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from runtime import events
    from runtime.api import Engine

    root = tempfile.mkdtemp(prefix="moorage-bench-events-")
    engine = Engine(root)
    results = {}
    try:
        engine.bootstrap_busybox()
        arms = {}
        for name, silent in (("journal", False), ("no journal", True)):
            code = LAUNCHER.format(repo=REPO, silent=silent)
            arms[name] = [sys.executable, "-I", "-S", "-c", code, "--root", root, "run", "-d",
                          "--network", "none", "busybox", "true"]
        times = {name: [] for name in arms}
        inside, counts = [], set()
        for round_number in range(args.runs + 3):
            order = list(arms) if round_number % 2 == 0 else list(reversed(arms))
            for name in order:
                elapsed, container_id, errors = timed(arms[name])
                if round_number >= 3:           # the first rounds warm the caches up
                    times[name].append(elapsed)
                    if name == "journal":
                        count, seconds = errors.strip().rsplit("journal: ", 1)[1].split()
                        inside.append(float(seconds))
                        counts.add(int(count))
                engine.wait(container_id)
                engine.remove(container_id, force=True)
        medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
        added = statistics.median(inside) * 1000

        class Record:
            id, name = "0" * 64, "bench"
            config = {"Image": "sha256:" + "0" * 64, "ImageRef": "busybox",
                      "Config": {"Image": "busybox", "Labels": {"a": "1", "b": "2"}}}
        appends = []
        for _ in range(2000):
            started = time.perf_counter()
            events.container(root, Record, "start")
            appends.append(time.perf_counter() - started)
        append_us = statistics.median(appends) * 1e6
        results = {"runs": args.runs, "events_per_run": sorted(counts),
                   "journal_in_run_ms": added, "run_ms": medians["journal"],
                   "share": added / medians["journal"],
                   "ab_median_ms": medians, "append_us": append_us,
                   "target_added_ms": 1.0, "met": added < 1.0}
        print(f"moor run -d --network none busybox true, median of {args.runs}:")
        print(f"  the run                       {medians['journal']:8.2f} ms")
        print(f"  its journal writes ({'/'.join(map(str, sorted(counts)))} events)  "
              f"{added:8.3f} ms   {100 * results['share']:.2f}% of the run   "
              f"target < 1 ms: {'met' if added < 1.0 else 'MISSED'}")
        print(f"for information, whole runs: journal {medians['journal']:.2f} ms, "
              f"append made a no-op {medians['no journal']:.2f} ms")
        print(f"for information, one append: {append_us:.1f} µs")
    finally:
        engine.reset()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
