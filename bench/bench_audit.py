"""The audit page and its exports over 100,000 entries, against anchors measured in the same run.

1. Paging: the audit page (first page, a page deep in the log, several filters; as a team
   member and as a superuser) over 100,000 entries, against the same pages over the first
   100 entries of the same database, measured before the rest was added. Target: the
   100,000-entry page takes at most 1.5 times the 100-entry one (it does not slow down).
   For information: `GET /login/` (a page without queries, the floor of the stack), the bare
   SQL of a page through sqlite3, and the rows of the page at 90% read by keyset against
   OFFSET paging with a count (what Django's paginator would do).
   The pages at 2,000 entries are timed before the rest is added, so the two columns are
   not interleaved: on a busy machine, ratios below 1 are noise, not speed.
2. Exports: the CSV and JSON exports of all 100,000 entries, against the same columns read
   with sqlite3 and written with csv.writer (the floor: no ORM, no per-row work). Target:
   at most 8 times the floor.

Requests go through Django's test client in this process (middleware, views, templates and
the database; no network), on a SQLite database in a temporary directory, removed at the end.
Usage: `.venv/bin/python bench/bench_audit.py [--entries N] [--runs N] [--json FILE]`.
"""
import argparse
import csv
import io
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

TEAMS = ("web", "data", "ops", "ml")
ACTIONS = ("container.start", "container.stop", "container.kill", "container.restart",
           "container.run", "container.remove", "container.commit", "image.tag", "auth.login",
           "team.member.add")
RESULTS = ("requested", "requested", "requested", "succeeded", "denied", "failed")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def measure(function, runs, warmups=3):
    for _ in range(warmups):
        function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return {"runs": runs, "p50_ms": round(percentile(samples, .5), 2),
            "p95_ms": round(percentile(samples, .95), 2),
            "mean_ms": round(statistics.mean(samples), 2)}


def setup_django(directory):
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "console.settings", "MOORAGE_VAR": directory,
        "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
        "MOORAGE_CHANNEL_LAYER": "memory", "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "testserver", "SECRET_KEY": "bench-" + os.urandom(16).hex()})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_people():
    from django.contrib.auth import get_user_model

    from console.teams.models import Membership, Team

    User = get_user_model()
    teams = [Team.objects.create(name=name) for name in TEAMS]
    for i in range(20):
        user = User.objects.create_user(f"user{i}", password="bench password 1")
        Membership.objects.create(user=user, team=teams[i % len(teams)], role="operator")
    User.objects.create_superuser("root", password="bench password 1")
    return {team.name: team.pk for team in teams}


def seed(count, first, team_ids, newest):
    """Entries `first` .. `first + count - 1`, three seconds apart going back from `newest`
    (unix seconds), spread over the teams, users, actions and results; made inside SQLite."""
    from django.db import connection

    teams = list(team_ids.items())
    cases = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(ACTIONS))
    results = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(RESULTS))
    team_names = " ".join(f"WHEN {i} THEN '{name}'" for i, (name, _) in enumerate(teams))
    team_pks = " ".join(f"WHEN {i} THEN {pk}" for i, (_, pk) in enumerate(teams))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n "
            f"WHERE i < {first + count - 1}) "
            "INSERT INTO audit_auditentry (time, actor_name, team_id, team_name, action, "
            "target_type, target_id, target_name, host_name, params, result, error, "
            "source_ip, user_agent) "
            f"SELECT strftime('%Y-%m-%d %H:%M:%S', {newest} - 3 * (i - {first}), 'unixepoch'), "
            f"'user' || (i % 20), CASE i % {len(teams)} {team_pks} END, "
            f"CASE i % {len(teams)} {team_names} END, CASE i % {len(ACTIONS)} {cases} END, "
            "'container', printf('%064x', i * 7919), 'c' || (i % 500), 'h' || (i % 3), "
            "'{\"timeout\": 10}', "
            f"CASE i % {len(RESULTS)} {results} END, '', '127.0.0.1', 'bench' FROM n")


def client_for(username):
    from django.test import Client

    client = Client()
    assert client.login(username=username, password="bench password 1")
    return client


def page_cases(total, newest):
    """(name, who, url) of the pages timed; the deep page starts 90% down the log."""
    from console.audit.filters import cursor_of
    from console.audit.models import AuditEntry

    deep = AuditEntry.objects.order_by("-time", "-pk")[int(total * 0.9)]
    cursor = cursor_of(deep)
    day = time.strftime("%Y-%m-%d", time.gmtime(newest - 3 * total // 2))
    return [
        ("first page", "root", "/audit/"),
        ("first page, member", "user1", "/audit/"),
        ("deep page (90%)", "root", f"/audit/?cursor={cursor}"),
        ("deep page, member", "user1", f"/audit/?cursor={cursor}"),
        ("user filter", "root", "/audit/?user=user7"),
        ("action prefix + result", "root", "/audit/?action=container.*&result=denied"),
        ("one day, member", "user1", f"/audit/?since={day}&until={day}"),
        ("target prefix", "root", "/audit/?target=00000000"),
    ]


def time_pages(cases, runs):
    clients = {}
    timings = {}
    for name, who, url in cases:
        client = clients.setdefault(who, client_for(who))
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        timings[name] = measure(lambda client=client, url=url: client.get(url), runs)
    return timings


def time_exports(path, runs):
    client = client_for("root")

    def ours(kind):
        def run():
            response = client.get(f"/audit/export/{kind}/")
            return sum(len(part) for part in response.streaming_content)
        return run

    def floor():
        database = sqlite3.connect(path)
        out = io.StringIO()
        writer = csv.writer(out)
        for row in database.execute(
                "SELECT a.id, a.time, a.actor_name, a.team_name, a.action, a.target_type, "
                "a.target_id, a.target_name, a.host_name, a.params, a.result, a.error, "
                "a.job_id, j.state, j.error, j.result, a.source_ip, a.user_agent "
                "FROM audit_auditentry a LEFT JOIN jobs_job j ON j.id = a.job_id "
                "ORDER BY a.time DESC, a.id DESC"):
            writer.writerow(row)
        database.close()
        return out.tell()
    return {"csv": measure(ours("csv"), runs, 1), "json": measure(ours("json"), runs, 1),
            "floor": measure(floor, runs, 1)}


def verdict(ratio, target):
    return f"target <= {target}: {'met' if ratio <= target else 'MISSED'}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="requests per page (default 30)")
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--json", default=os.path.join(REPO, "bench", "results", "audit.json"))
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="moorage-bench-audit-")
    try:
        setup_django(directory)
        from django.test import Client

        team_ids = make_people()
        newest = int(time.time())
        small = 2_000
        seed(small, 0, team_ids, newest)
        print(f"{small} entries: timing the pages ({args.runs} requests each)", flush=True)
        before = time_pages(page_cases(small, newest), args.runs)
        started = time.perf_counter()
        seed(args.entries - small, small, team_ids, newest - 3 * small)
        print(f"seeded to {args.entries} entries in {time.perf_counter() - started:.1f} s; "
              "timing again", flush=True)
        cases = page_cases(args.entries, newest)
        after = time_pages(cases, args.runs)
        path = os.path.join(directory, "bench.sqlite3")
        database = sqlite3.connect(path)
        bare = measure(lambda: database.execute(
            "SELECT * FROM audit_auditentry ORDER BY time DESC, id DESC LIMIT 51").fetchall(),
            args.runs)
        database.close()
        from console.audit.models import AuditEntry

        entries = AuditEntry.objects.order_by("-time", "-pk")
        depth = int(args.entries * 0.9)
        offset_page = measure(lambda: (entries.count(), list(entries[depth:depth + 50])),
                              args.runs)
        from console.audit.filters import newest_first

        deep = entries[depth]
        keyset_page = measure(lambda: newest_first([AuditEntry.objects.all()], 51,
                                                   (deep.time, deep.pk)), args.runs)
        login = measure(lambda: Client().get("/login/"), args.runs)

        print(f"\nAudit page, p50 of {args.runs} requests (ms)")
        print(f"{'page':28} {small:>12,} {args.entries:>12,} {'ratio':>7}")
        report = {"entries": args.entries, "small": small, "pages": {}, "exports": {}}
        worst = 0.0
        for name, _, url in cases:
            ratio = after[name]["p50_ms"] / before[name]["p50_ms"]
            worst = max(worst, ratio)
            report["pages"][name] = {"url": url, "small": before[name], "large": after[name],
                                     "ratio": round(ratio, 2)}
            print(f"{name:28} {before[name]['p50_ms']:12.2f} {after[name]['p50_ms']:12.2f} "
                  f"{ratio:7.2f}")
        print(f"worst {args.entries:,} / {small:,} = {worst:.2f}   {verdict(worst, 1.5)}")
        print(f"for information: GET /login/ (no queries) {login['p50_ms']:.2f} ms; the bare "
              f"SQL of the first page {bare['p50_ms']:.2f} ms; reading the page at 90% by "
              f"keyset {keyset_page['p50_ms']:.2f} ms, by OFFSET with a count "
              f"{offset_page['p50_ms']:.2f} ms "
              f"({offset_page['p50_ms'] / keyset_page['p50_ms']:.1f} x)")
        report["floors"] = {"login": login, "bare_sql": bare, "keyset_query_90": keyset_page,
                            "offset_query_90": offset_page}

        print(f"\nExports of {args.entries:,} entries, p50 of {args.export_runs} (ms)")
        exports = time_exports(path, args.export_runs)
        for kind in ("csv", "json"):
            ratio = exports[kind]["p50_ms"] / exports["floor"]["p50_ms"]
            report["exports"][kind] = {**exports[kind], "ratio": round(ratio, 2)}
            print(f"{kind:5} {exports[kind]['p50_ms']:10.1f}   / floor "
                  f"{exports['floor']['p50_ms']:.1f} = {ratio:.2f}   {verdict(ratio, 8)}")
        report["exports"]["floor"] = exports["floor"]
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
        print(f"\nwritten to {args.json}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
