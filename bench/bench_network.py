"""What networking costs, measured in one run against anchors of the same run (as root):

1. Start: `moor run -d --network bridge` against `moor run -d --network none` of the same
   container, interleaved, 30 runs each after two warm-ups; the difference at p50 is what the
   network adds to a start (target: under 30 ms). On a busy machine that difference swells
   with CPU contention, so the driver's share is also measured apart: `runtime.network.attach`
   in-process for both modes, and the import of pyroute2's messages in a fresh interpreter
   (the two add up to what bridge costs a start on top of none). The load average is printed.
2. TCP through a published port against the same server reached directly on the container's
   address: request/response round trips per second over one connection (1 byte each way,
   echoed by busybox `nc -e cat`), and HTTP requests per second with a new connection each
   (busybox httpd). Published ports are reached both on 127.0.0.1 (DNAT in OUTPUT,
   route_localnet, masquerade) and on the bridge's address.

It makes its own engine root with the busybox image, talks only to loopback and to its own
containers' addresses, and leaves nothing behind. Usage:
`.venv/bin/python bench/bench_network.py [--runs N] [--seconds S] [--json FILE]`.
"""
import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from runtime import network  # noqa: E402
from runtime.api import Engine  # noqa: E402
from runtime.paths import Paths  # noqa: E402


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def summary(name, samples_ms):
    return {"what": name, "runs": len(samples_ms),
            "p50_ms": round(percentile(samples_ms, .5), 2),
            "p95_ms": round(percentile(samples_ms, .95), 2),
            "mean_ms": round(statistics.mean(samples_ms), 2)}


def moor(root, *args, check=True) -> str:
    result = subprocess.run([sys.executable, "-m", "runtime", *args], cwd=REPOSITORY,
                            env={**os.environ, "MOORAGE_ROOT": root}, capture_output=True,
                            text=True)
    if check and result.returncode:
        raise SystemExit(f"moor {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def bench_start(root, runs):
    samples = {"none": [], "bridge": []}
    for index in range(runs + 2):
        for mode in ("none", "bridge"):
            start = time.perf_counter()
            container = moor(root, "run", "-d", "--network", mode, "busybox", "sleep", "300")
            elapsed = (time.perf_counter() - start) * 1000
            if index >= 2:
                samples[mode].append(elapsed)
            moor(root, "rm", "-f", container)
            time.sleep(0.3)  # conmon's exit command runs after the kill: not into the next run
    return (summary("moor run -d --network none (anchor)", samples["none"]),
            summary("moor run -d --network bridge", samples["bridge"]))


def bench_attach(paths, runs):
    samples = {"none": [], "bridge": []}
    for index in range(runs + 2):
        for mode in ("none", "bridge"):
            container_id = secrets.token_hex(32)
            directory = os.path.join(paths.root, "bench", container_id)
            os.makedirs(directory)
            request = network.NetworkRequest(container_id, "bench", container_id[:12], mode,
                                             container_dir=directory)
            start = time.perf_counter()
            network.attach(paths, request)
            elapsed = (time.perf_counter() - start) * 1000
            network.detach(paths, container_id)  # at the container's end: not a start's cost
            if index >= 2:
                samples[mode].append(elapsed)
            shutil.rmtree(directory)
    return (summary("attach, none (in-process anchor)", samples["none"]),
            summary("attach, bridge (in-process)", samples["bridge"]))


def bench_import(runs):
    """What loading the kernel-facing modules (pyroute2's messages) costs a fresh `moor`."""
    code = ("import time, runtime.network; start = time.perf_counter(); "
            "import runtime.network.netlink, runtime.network.netns; "
            "print((time.perf_counter() - start) * 1000)")
    samples = [float(subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY,
                                    capture_output=True, text=True, check=True).stdout)
               for _ in range(runs)]
    return summary("import of runtime.network.netlink (pyroute2)", samples)


def round_trips_per_second(address, port, seconds) -> float:
    with socket.create_connection((address, port), timeout=5) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        count, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            connection.sendall(b"x")
            if connection.recv(1) != b"x":
                raise SystemExit("the echo server answered something else")
            count += 1
        return count / (time.perf_counter() - started)


def requests_per_second(address, port, seconds) -> float:
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        with socket.create_connection((address, port), timeout=5) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while connection.recv(65536):
                pass
        count += 1
    return count / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


def wait_for(address, port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection((address, port), timeout=0.5).close()
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing answers on {address}:{port}")


def _server(root) -> dict:
    """A container echoing on 7 (busybox nc -e cat) and serving HTTP on 80, both published."""
    echo_port, http_port = free_port(), free_port()
    container = moor(root, "run", "-d", "-p", f"{echo_port}:7", "-p", f"{http_port}:80",
                     "busybox", "sh", "-c", "mkdir /www && echo hello > /www/index.html && "
                     "httpd -p 80 -h /www && exec nc -ll -p 7 -e cat")
    settings = json.loads(moor(root, "inspect", container))[0]["NetworkSettings"]
    server = {"id": container, "address": settings["IPAddress"], "gateway": settings["Gateway"],
              "echo": echo_port, "http": http_port}
    for port in (7, 80):
        wait_for(server["address"], port)
    return server


def bench_tcp(root, seconds):
    """Each way in is measured against a server of its own, so that no way meets the
    connections another left in TIME_WAIT (the NAT'd ways share the bridge address as their
    source); the ways take turns in short slices, so a busy moment of the machine hits all."""
    direct, loopback, bridge_side = _server(root), _server(root), _server(root)
    ways = [
        ("direct to the container", lambda kind: (direct["address"], 7 if kind == "echo" else 80)),
        ("published, 127.0.0.1", lambda kind: ("127.0.0.1", loopback[kind])),
        ("published, bridge address", lambda kind: (bridge_side["gateway"], bridge_side[kind])),
    ]
    results = []
    for kind, label, measure in (("echo", "round trips/s, one connection", round_trips_per_second),
                                 ("http", "HTTP requests/s, a connection each",
                                  requests_per_second)):
        for _name, where in ways:
            measure(*where(kind), 0.2)  # warm-up
        slices = {name: [] for name, _where in ways}
        for _ in range(10):
            for name, where in ways:
                slices[name].append(measure(*where(kind), seconds / 10))
        rates = {name: statistics.median(values) for name, values in slices.items()}
        anchor = rates["direct to the container"]
        for name, rate in rates.items():
            results.append({"what": f"{label}: {name}", "per_second": round(rate),
                            "ratio_to_direct": round(rate / anchor, 3)})
    for server in (direct, loopback, bridge_side):
        moor(root, "rm", "-f", server["id"])
    return results


def destroy(engine: Engine):
    for container in engine.containers(all=True):
        with contextlib.suppress(Exception):
            engine.remove(container["Id"], force=True)
    network.teardown(engine.paths)
    for controller in os.listdir("/sys/fs/cgroup"):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join("/sys/fs/cgroup", controller, engine.paths.cgroup_parent))
    shutil.rmtree(engine.paths.run, ignore_errors=True)
    shutil.rmtree(engine.paths.root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark makes containers and bridges")
    load_before = os.getloadavg()[0]
    root = tempfile.mkdtemp(prefix="moorage-bench-network-")
    engine = Engine(root)
    try:
        engine.bootstrap_busybox()
        moor(root, "run", "--rm", "busybox", "true")  # brings the bridge up, outside the timing
        none, bridge = bench_start(root, options.runs)
        attach_none, attach_bridge = bench_attach(Paths(root), options.runs)
        imports = bench_import(options.runs)
        tcp = bench_tcp(root, options.seconds)
    finally:
        destroy(engine)
    results = {"start": [none, bridge],
               "start_added_by_bridge_p50_ms": round(bridge["p50_ms"] - none["p50_ms"], 2),
               "attach": [attach_none, attach_bridge, imports],
               "driver_added_p50_ms": round(attach_bridge["p50_ms"] - attach_none["p50_ms"]
                                            + imports["p50_ms"], 2),
               "load_average": [load_before, os.getloadavg()[0]],
               "tcp": tcp}
    print(f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
          f"({os.cpu_count()} CPUs)")
    for row in results["start"] + results["attach"]:
        print(f"{row['what']:<45} p50 {row['p50_ms']:8.2f} ms   p95 {row['p95_ms']:8.2f} ms")
    print(f"{'networking adds to moor run -d at p50':<45} "
          f"{results['start_added_by_bridge_p50_ms']:8.2f} ms (target < 30 ms)")
    print(f"{'what the driver adds (attach + imports), p50':<45} "
          f"{results['driver_added_p50_ms']:8.2f} ms")
    for row in tcp:
        print(f"{row['what']:<68} {row['per_second']:8d}/s  x{row['ratio_to_direct']:.3f}")
    if options.json:
        with open(options.json, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
