"""How fast `moor pull` brings busybox from a local registry into an emptied engine root,
next to `podman pull --tls-verify=false` of the same image from the same registry, measured
interleaved in the same run.

    .venv/bin/python bench/bench_pull.py [--runs 15]        (as root)

A registry (Debian's docker-registry) is started on a free 127.0.0.1 port; the offline
busybox image is made in a source root and pushed with `moor push`. Each run then times the
whole command, interpreter start included: `bin/moor pull -q` (the launcher users run) into
a root emptied beforehand (untimed), and `podman pull -q` into a private podman store
emptied with `rmi -a -f` (untimed). A third line times `Engine.pull` inside this process,
without the command line's start-up. Prints the medians and the ratios (target: moor at
most 1.0 of podman).

podman and skopeo write first-use files outside their store (the blob-info cache in
/var/lib/containers, /run/containers): the benchmark runs in a private mount namespace with
fresh tmpfs over /var/lib and /run, so nothing of that reaches the host, and removes its
registry, roots and podman store at the end.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

PRIVATE_MARK = "MOORAGE_BENCH_PRIVATE_MOUNTS"


def enter_private_mounts() -> None:
    """Re-run this script in a private mount namespace with tmpfs over /var/lib and /run."""
    if os.environ.get(PRIVATE_MARK):
        return
    from tests.runtime.registry_fixture import private_mounts
    argv = private_mounts([sys.executable, *sys.argv])
    os.execvpe(argv[0], argv, {**os.environ, PRIVATE_MARK: "1"})


def podman_setup(scratch: str) -> list[str]:
    """A private podman store and configuration; returns podman's argv prefix."""
    base = os.path.join(scratch, "podman")
    os.makedirs(os.path.join(base, "tmp"))
    with open(os.path.join(base, "containers.conf"), "w") as f:
        f.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                f'events_logfile_path = "{base}/events.log"\ntmp_dir = "{base}/tmp"\n')
    with open(os.path.join(base, "storage.conf"), "w") as f:
        f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{base}/root"\n'
                f'runroot = "{base}/run"\n')
    os.environ["CONTAINERS_CONF"] = os.path.join(base, "containers.conf")
    os.environ["CONTAINERS_STORAGE_CONF"] = os.path.join(base, "storage.conf")
    return ["podman", "--root", f"{base}/root", "--runroot", f"{base}/run",
            "--tmpdir", f"{base}/tmp"]


def timed(argv: list[str], env=None) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return elapsed


def empty_root(root: str) -> None:
    """Remove an engine root that only ever held pulled images (no containers)."""
    from runtime.paths import Paths
    paths = Paths(root)
    shutil.rmtree(paths.root, ignore_errors=True)
    shutil.rmtree(paths.run, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_pull.py needs root (the engine and podman's store)")
    if args.runs < 10:
        raise SystemExit("--runs must be at least 10")
    enter_private_mounts()

    from runtime.api import Engine
    from tests.runtime.registry_fixture import Registry

    scratch = tempfile.mkdtemp(prefix="bench-pull-")
    registry = Registry()
    podman = None
    try:
        registry.start()
        image = f"{registry.address}/busybox:latest"
        source = Engine(os.path.join(scratch, "source"))
        source.bootstrap_busybox(image)
        source.push(image)
        target = os.path.join(scratch, "target")
        moor_env = {**os.environ, "MOORAGE_ROOT": target}
        moor = [os.path.join(REPOSITORY, "bin", "moor"), "pull", "-q", image]
        have_podman = shutil.which("podman") is not None
        if have_podman:
            podman = podman_setup(scratch)
        else:
            print("podman is not installed: only moor's own numbers below")

        def reset_podman():
            subprocess.run(podman + ["rmi", "-a", "-f"], capture_output=True)

        # One untimed round of each warms the page cache and the registry.
        empty_root(target)
        timed(moor, moor_env)
        if have_podman:
            reset_podman()
            timed(podman + ["pull", "-q", "--tls-verify=false", image])
        cli, library, anchor = [], [], []
        for _ in range(args.runs):
            empty_root(target)
            cli.append(timed(moor, moor_env))
            empty_root(target)
            engine = Engine(target)
            started = time.perf_counter()
            engine.pull(image)
            library.append(time.perf_counter() - started)
            if have_podman:
                reset_podman()
                anchor.append(timed(podman + ["pull", "-q", "--tls-verify=false", image]))
        empty_root(target)

        size = os.path.getsize(source.store.blob_path(
            source.store.layer_info(source.store.layers(source.image_id(image))[0])
            ["source"]["digest"]))
        cli_ms = statistics.median(cli) * 1000
        library_ms = statistics.median(library) * 1000
        print(f"busybox: one layer, {size / 1e6:.2f} MB gzip, {args.runs} runs each")
        print(f"moor pull -q (command line)          median {cli_ms:7.1f} ms")
        print(f"Engine.pull (in process)             median {library_ms:7.1f} ms")
        if anchor:
            anchor_ms = statistics.median(anchor) * 1000
            print(f"podman pull -q --tls-verify=false    median {anchor_ms:7.1f} ms")
            print(f"ratio moor/podman {cli_ms / anchor_ms:.2f} (target <= 1.00), "
                  f"in-process/podman {library_ms / anchor_ms:.2f}")
    finally:
        if podman:
            subprocess.run(podman + ["rmi", "-a", "-f"], capture_output=True)
        registry.stop()
        for root in ("source", "target"):
            empty_root(os.path.join(scratch, root))
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
