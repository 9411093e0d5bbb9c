"""Terminals and live logs through the whole path, against local anchors measured in the
same run (as root):

1. Keystroke round trip: one byte typed, its echo received, 500 times, p50 and p99, through
   websocket → daphne → Redis → the host's stream bridge → conmon → the container's pty and
   back (the program on the terminal is `cat`, so the echo comes from the terminal itself);
   against the floor: the same byte through a plain local pty with `cat` on it.
   Target: p50 under 5 ms, p99 under 20 ms on loopback.
2. Log throughput: a container printing LINES lines as fast as it can (`seq`), followed live
   by a websocket client from the first line (acknowledging each batch as a page does), in
   lines/s and MB/s of line text; then the same finished log read again over the websocket,
   and through `GET /api/containers/{id}/logs/`; against `moor logs` of the same file
   (the engine's own reader, the anchor).

It starts its own stack (Redis, daphne, a worker and a bridge on a temporary engine root) like
the end-to-end tests, and leaves nothing behind. Usage:
`.venv/bin/python bench/bench_terminal.py [--keystrokes 500] [--lines 500000]`.
"""
import argparse
import asyncio
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.stack import Stack
from tests.stream_client import LogsClient, TerminalClient

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
KEYS = b"abcdefghijklmnopqrstuvwxyz0123456789"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def latency_summary(samples_ms):
    return {"runs": len(samples_ms), "p50_ms": round(percentile(samples_ms, .5), 3),
            "p99_ms": round(percentile(samples_ms, .99), 3),
            "mean_ms": round(statistics.mean(samples_ms), 3)}


# -- keystrokes ------------------------------------------------------------------------------

def local_pty_echo(count: int) -> list[float]:
    """The floor: a byte written to a local pty running `cat`, until its echo is read."""
    master, slave = pty.openpty()
    process = subprocess.Popen(["cat"], stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True)
    os.close(slave)
    samples = []
    try:
        time.sleep(0.2)
        for index in range(count + 20):
            if index % 200 == 199:
                os.write(master, b"\x15")           # ^U: keep the line short
                drain(master, 0.05)
            key = KEYS[index % len(KEYS):][:1]
            start = time.perf_counter()
            os.write(master, key)
            seen = b""
            while key not in seen:
                select.select([master], [], [], 5)
                seen += os.read(master, 4096)
            if index >= 20:                          # warm-up not counted
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        process.kill()
        process.wait()
        os.close(master)
    return samples


def drain(fd, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.01)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                return


async def terminal_echo(stack, container: str, count: int) -> list[float]:
    client = await TerminalClient.open(stack.base, stack.admin.token, container, command="cat")
    await asyncio.sleep(0.5)
    samples = []
    for index in range(count + 20):
        if index % 200 == 199:
            await client.send(b"\x15")
            await asyncio.sleep(0.05)
        key = KEYS[index % len(KEYS):][:1]
        mark = client.mark()
        start = time.perf_counter()
        await client.send(key)
        while key not in client.output[mark:]:
            if not await client.read(5):
                raise RuntimeError("the terminal closed")
        if index >= 20:
            samples.append((time.perf_counter() - start) * 1000)
    await client.send(b"\x04")
    await client.close()
    return samples


# -- logs --------------------------------------------------------------------------------------

async def follow_all(stack, container: str, lines: int) -> tuple[float, int, int]:
    """Follow from the first line until `lines` lines came; (seconds, lines, text bytes)."""
    client = await LogsClient.open(stack.base, stack.admin.token, container)
    start = time.perf_counter()
    await client.start(type="follow", tail=None)
    got = size = 0
    while got < lines:
        message = await client.batch(timeout=60)
        if message is None:
            raise RuntimeError(f"the log stopped at {got} lines")
        if message["type"] == "logs":
            got += len(message["lines"])
            size += sum(len(line[3]) + 1 for line in message["lines"])
            client.lines = []
        elif message["type"] == "end":
            break
    elapsed = time.perf_counter() - start
    await client.close()
    return elapsed, got, size


def http_all(stack, container: str) -> tuple[float, int, int]:
    request = urllib.request.Request(stack.base + f"/api/containers/{container}/logs/",
                                     headers={"Authorization": f"Token {stack.admin.token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        body = response.read()
    return time.perf_counter() - start, body.count(b"\n"), len(body)


def moor_logs(stack, container: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "runtime", "--root", stack.roots["e2e"],
                             "logs", container], capture_output=True, check=True)
    return time.perf_counter() - start, result.stdout.count(b"\n"), len(result.stdout)


def rate(name, measured):
    seconds, lines, size = measured
    return {"what": name, "seconds": round(seconds, 3), "lines": lines,
            "lines_per_s": round(lines / seconds), "mb_per_s": round(size / seconds / 1e6, 2)}


# -- main --------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=500)
    parser.add_argument("--lines", type=int, default=500_000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run me as root: the stack makes real containers")
    stack = Stack()
    report = {}
    try:
        stack.start()
        api = stack.admin
        sleeper = api.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": "bench-terminal",
            "cmd": ["sleep", "3600"]})["container"]
        print(f"keystroke round trip, {args.keystrokes} keystrokes (interleaved in 5 rounds)")
        through, floor = [], []
        per_round = max(1, args.keystrokes // 5)
        for _ in range(5):
            floor += local_pty_echo(per_round)
            through += asyncio.run(terminal_echo(stack, sleeper, per_round))
        report["keystrokes"] = {"through_the_console": latency_summary(through),
                                "local_pty_floor": latency_summary(floor)}
        for name, values in report["keystrokes"].items():
            print(f"  {name:<22} p50 {values['p50_ms']:7.3f} ms   p99 {values['p99_ms']:7.3f} ms"
                  f"   mean {values['mean_ms']:7.3f} ms   n={values['runs']}")
        console, local = report["keystrokes"]["through_the_console"], report["keystrokes"][
            "local_pty_floor"]
        print(f"  p50 console / floor = {console['p50_ms'] / local['p50_ms']:.1f}   "
              f"target p50 < 5 ms: {'met' if console['p50_ms'] < 5 else 'MISSED'}; "
              f"p99 < 20 ms: {'met' if console['p99_ms'] < 20 else 'MISSED'}")

        print(f"\nlog throughput, a container printing {args.lines} lines (seq)")
        flood = api.ok("POST", "/api/containers/", {
            "image": "busybox", "host": "e2e", "name": "bench-flood",
            "cmd": ["seq", "1", str(args.lines)]})["container"]
        stack.wait_job(api.ok("GET", f"/api/jobs/?container={flood}")["results"][0]["id"])
        live = asyncio.run(follow_all(stack, flood, args.lines))
        rows = [rate("websocket, following from the first line", live),
                rate("websocket, the finished log again",
                     asyncio.run(follow_all(stack, flood, args.lines))),
                rate("HTTP GET .../logs/", http_all(stack, flood)),
                rate("moor logs (anchor)", moor_logs(stack, flood))]
        report["logs"] = rows
        for row in rows:
            print(f"  {row['what']:<38} {row['lines']:>8} lines  {row['seconds']:7.3f} s  "
                  f"{row['lines_per_s']:>9} lines/s  {row['mb_per_s']:6.2f} MB/s")
        anchor = rows[-1]["lines_per_s"]
        for row in rows[:-1]:
            print(f"  {row['what']} / moor logs = {row['lines_per_s'] / anchor:.2f}")
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, "terminal.json")
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)
        print(f"\nwritten to {os.path.relpath(path)}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
