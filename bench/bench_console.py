"""What the console adds on top of the engine, measured in one run (as root):

1. Start: time from `POST /api/containers/?wait=1` to the answer that the container is
   running (the job succeeded, the row says running), against `moor run -d` of the same
   container on the same host, the anchor. 30 runs each, interleaved; p50/p95 and the
   difference at p50 (target: the console adds under 100 ms).
2. Listing: 1,000 containers in the database; `GET /api/containers/?page_size=1000` and the
   containers page showing all 1,000 rows (`/containers/?page_size=1000`); p50/p95 over 30
   requests each (target: p50 under 150 ms), against `GET /login/` (a page without queries)
   as the floor of the same server.

It starts its own stack (Redis, daphne, one worker, a temporary engine root) like the
end-to-end tests, and leaves nothing behind. Usage: `.venv/bin/python bench/bench_console.py
[--runs N]`.
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.stack import Stack


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(name, samples_ms):
    return {"what": name, "runs": len(samples_ms), "p50_ms": round(percentile(samples_ms, .5), 1),
            "p95_ms": round(percentile(samples_ms, .95), 1),
            "mean_ms": round(statistics.mean(samples_ms), 1)}


def timed(function):
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def bench_start(stack, runs):
    api = stack.admin
    moor_ms, api_ms = [], []
    for i in range(runs + 2):              # two warm-up rounds, not counted
        elapsed, done = timed(lambda i=i: stack.moor("e2e", "run", "-d", "--name", f"anchor{i}",
                                                  "busybox", "sleep", "300"))
        if i >= 2:
            moor_ms.append(elapsed)
        stack.moor("e2e", "rm", "-f", f"anchor{i}")
        elapsed, (status, job) = timed(lambda i=i: api.post("/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": f"console{i}", "cmd": ["sleep", "300"]}))
        assert status == 200 and job["state"] == "succeeded", job
        container = api.ok("GET", f"/api/containers/{job['container']}/")
        assert container["state"] == "running", container
        if i >= 2:
            api_ms.append(elapsed)
        api.ok("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")
    return summary("moor run -d (anchor)", moor_ms), summary("POST /api/containers/?wait=1",
                                                             api_ms)


def seed_containers(stack, count):
    """Rows for `count` containers on a host without a worker (so no sync removes them), each
    with an inspect document as large as a real one."""
    stack.manage("shell", "-c", f"""
import secrets
from console.containers.models import Container as C
real = C.objects.exclude(inspect_data={{}}).values_list("inspect_data", flat=True).first() or {{}}
from console.containers.models import Container
from console.hosts.models import Host, HostGrant
from console.teams.models import Team
host, _ = Host.objects.get_or_create(name="bench-rows")
team = Team.objects.get(name="default")
HostGrant.objects.get_or_create(team=team, host=host)
Container.objects.bulk_create([Container(
    engine_id=secrets.token_hex(32), name=f"row{{i:04d}}", host=host, team=team,
    image_ref="busybox:latest", command=["sleep", "300"],
    state=["running", "exited", "created"][i % 3], exit_code=0 if i % 3 == 1 else None,
    inspect_data=real)
    for i in range({count})])
""")


def session_cookie(stack):
    """Log in through the login form and keep the session cookie."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(stack.base + "/login/").read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    data = urllib.parse.urlencode({"username": "admin", "password": stack.admin_password,
                                   "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(stack.base + "/login/", data=data,
                                     headers={"Referer": stack.base + "/login/"})
    opener.open(request).read()
    return opener


def bench_lists(stack, runs):
    api = stack.admin
    opener = session_cookie(stack)

    def api_list():
        status, answer = api.get("/api/containers/?page_size=1000")
        assert status == 200 and len(answer["results"]) == 1000, (status, answer.get("count"))

    def page_list():
        html = opener.open(stack.base + "/containers/?page_size=1000").read().decode()
        assert html.count("data-container=") == 1000, html.count("data-container=")

    def floor():
        urllib.request.urlopen(stack.base + "/login/").read()

    results = []
    for name, function in (("GET /login/ (floor)", floor),
                           ("GET /api/containers/?page_size=1000", api_list),
                           ("GET /containers/?page_size=1000 (page)", page_list)):
        function()                          # warm up
        results.append(summary(name, [timed(function)[0] for _ in range(runs)]))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the engine makes real containers")
    stack = Stack()
    try:
        stack.start()
        anchor, console = bench_start(stack, args.runs)
        stack.admin.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": "inspected", "cmd": ["sleep", "300"]})
        seed_containers(stack, 999)
        lists = bench_lists(stack, args.runs)
    finally:
        stack.stop()
    rows = [anchor, console, *lists]
    print(f"{'what':45} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for row in rows:
        print(f"{row['what']:45} {row['runs']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['mean_ms']:>8}")
    added = console["p50_ms"] - anchor["p50_ms"]
    print(f"\nconsole start vs moor run -d at p50: {console['p50_ms']} / {anchor['p50_ms']} ms "
          f"= {console['p50_ms'] / anchor['p50_ms']:.2f}x, adds {added:+.1f} ms "
          f"(target < 100 ms: {'met' if added < 100 else 'NOT met'})")
    for row in lists[1:]:
        print(f"{row['what']}: p50 {row['p50_ms']} ms = "
              f"{row['p50_ms'] / lists[0]['p50_ms']:.1f}x the floor "
              f"(target < 150 ms: {'met' if row['p50_ms'] < 150 else 'NOT met'})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
