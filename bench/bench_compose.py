"""`moor compose up -d` of a three-service busybox project against the same containers
started one by one with `moor run -d`, measured in the same run on one private engine root
(as root). Target: compose adds at most 50 ms over the sum of the single starts.

    .venv/bin/python bench/bench_compose.py [--runs N] [--json FILE]

Both sides make the same things: a user network and three `sleep` containers on it (compose:
its project network, its three services; one by one: `moor network create`, then three
`moor run -d --network`). Each is timed from spawning the first command to the exit of the
last, when every container runs (`up -d` returns once they have started). Compose is
measured twice: with its file already validated once (the schema check is remembered under
the engine root), and with a file never seen before (jsonschema imported and run). The rounds
alternate which side goes first; between rounds everything is removed, untimed. It prints the
medians, compose's overhead (its median minus the one-by-one median) and the target, and
leaves nothing behind (`moor system reset` of its root, also when interrupted). A report, not
a test: it exits 0 when it measured.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOOR = [os.path.join(REPOSITORY, "bin", "moor")]
TARGET_MS = 50.0

COMPOSE = """
name: bench
services:
  a:
    image: busybox
    command: sleep 600
  b:
    image: busybox
    command: sleep 600
  c:
    image: busybox
    command: sleep 600
"""


def moor(root: str, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(MOOR + ["--root", root, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"moor {' '.join(args)}: {result.stderr.strip()}")
    return result


def timed(commands) -> float:
    started = time.perf_counter()
    for command in commands:
        command()
    return (time.perf_counter() - started) * 1000


def compose_side(root: str, file: str, new_file: bool = False) -> float:
    if new_file:    # content never validated before: jsonschema is imported and runs
        with open(file, "w") as handle:
            handle.write(COMPOSE + f"x-round: {os.urandom(8).hex()}\n")
    elapsed = timed([lambda: moor(root, "compose", "-f", file, "up", "-d")])
    running = moor(root, "ps", "-q").stdout.split()
    assert len(running) == 3, running
    moor(root, "compose", "-f", file, "down", "-t", "0")
    return elapsed


def one_by_one_side(root: str) -> float:
    commands = [lambda: moor(root, "network", "create", "bench_default")]
    for service in "abc":
        commands.append(lambda service=service: moor(
            root, "run", "-d", "--network", "bench_default", "--name", f"bench-{service}-1",
            "busybox", "sleep", "600"))
    elapsed = timed(commands)
    running = moor(root, "ps", "-q").stdout.split()
    assert len(running) == 3, running
    moor(root, "rm", "-f", *running)
    moor(root, "network", "rm", "bench_default")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.stderr.write("bench_compose.py makes containers: run it as root\n")
        return 1
    directory = tempfile.mkdtemp(prefix="moorage-bench-compose-")
    root = os.path.join(directory, "root")
    file = os.path.join(directory, "compose.yaml")
    with open(file, "w") as handle:
        handle.write(COMPOSE)
    results = {"compose": [], "compose_new_file": [], "one_by_one": []}
    try:
        moor(root, "image", "bootstrap", "busybox")
        compose_side(root, file)        # warm-up: caches, the first network's set-up
        one_by_one_side(root)
        for round_number in range(args.runs):
            sides = [("compose", lambda: compose_side(root, file)),
                     ("compose_new_file", lambda: compose_side(root, file, new_file=True)),
                     ("one_by_one", lambda: one_by_one_side(root))]
            if round_number % 2:
                sides.reverse()
            for name, side in sides:
                results[name].append(side())
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    finally:
        moor(root, "system", "reset", check=False)
        subprocess.run(["rm", "-rf", directory])
    compose_ms = statistics.median(results["compose"])
    new_file_ms = statistics.median(results["compose_new_file"])
    single_ms = statistics.median(results["one_by_one"])
    print(f"moor compose up -d, 3 services:        {compose_ms:8.1f} ms (median of {args.runs})")
    print(f"  the same, a file never seen before:  {new_file_ms:8.1f} ms")
    print(f"network create + 3 x moor run -d:      {single_ms:8.1f} ms")
    for label, measured in (("compose's overhead", compose_ms),
                            ("  with a new file", new_file_ms)):
        overhead = measured - single_ms
        print(f"{label + ':':<39}{overhead:8.1f} ms (target at most {TARGET_MS:.0f} ms: "
              f"{'met' if overhead <= TARGET_MS else 'MISSED'})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"runs_ms": results, "compose_ms": compose_ms,
                       "compose_new_file_ms": new_file_ms, "one_by_one_ms": single_ms,
                       "target_ms": TARGET_MS}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
