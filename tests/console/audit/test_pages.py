"""The audit page: each filter, keyset pages that neither skip nor repeat an entry, the chain
from who to job to engine on each row, and what members and superusers see. The long test
at the end seeds 100,000 entries: a page costs the same queries as over a hundred, and both
exports return every entry."""
import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console import audit
from console.audit.filters import EPOCH, MICROSECOND, parse_cursor
from console.audit.models import AuditEntry


def rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-entry="(\d+)"', html)]


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def log(world):
    """A small log: alpha's and beta's entries of several kinds, hosts and results."""
    alpha, beta = world.teams["alpha"], world.teams["beta"]
    web, other = world.containers["web"], world.containers["other"]
    made = [
        audit.record("container.stop", actor=world.user("operator"), team=alpha, target=web,
                     host=world.hosts["h1"], result="requested"),
        audit.record("container.kill", actor=world.user("viewer"), team=alpha, target=web,
                     host=world.hosts["h1"], result="denied", error="viewer may not kill"),
        audit.record("team.member.add", actor=world.user("team_admin"), team=alpha,
                     target=world.user("viewer")),
        audit.record("container.stop", actor=world.user("stranger"), team=beta, target=other,
                     host=world.hosts["h2"], result="requested"),
        audit.record("auth.login", actor=world.user("developer"), target=world.user("developer")),
    ]
    return made


def test_members_see_their_team_and_their_own_entries_superusers_all(world, log, client_for):
    viewer = rows(client_for("viewer").get("/audit/").content.decode())
    assert sorted(viewer) == sorted(e.pk for e in log[:3])
    developer = rows(client_for("developer").get("/audit/").content.decode())
    assert sorted(developer) == sorted(e.pk for e in log[:3] + [log[4]])
    stranger = rows(client_for("stranger").get("/audit/").content.decode())
    assert stranger == [log[3].pk]
    assert sorted(rows(client_for("superuser").get("/audit/").content.decode())) == \
        sorted(e.pk for e in log)


@pytest.mark.parametrize("query,expected", [
    ("user=operator", [0]), ("team=beta", [3]), ("action=container.stop", [0, 3]),
    ("action=container.*", [0, 1, 3]), ("target=web", [0, 1]), ("host=h2", [3]),
    ("result=denied", [1]), ("user=viewer&result=denied", [1]), ("team=alpha&host=h1", [0, 1]),
])
def test_each_filter(world, log, client_for, query, expected):
    html = client_for("superuser").get(f"/audit/?{query}").content.decode()
    assert sorted(rows(html)) == sorted(log[i].pk for i in expected)
    api = client_for("superuser").get(f"/api/audit/?{query}").json()
    assert sorted(r["id"] for r in api["results"]) == sorted(log[i].pk for i in expected)


def test_target_matches_an_id_or_its_start(world, log, client_for):
    prefix = world.containers["web"].engine_id[:10]
    html = client_for("superuser").get(f"/audit/?target={prefix}").content.decode()
    assert sorted(rows(html)) == sorted([log[0].pk, log[1].pk])


def test_the_date_range(world, log, client_for):
    old = log[0]
    set_time([old.pk], datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc))
    client = client_for("superuser")
    assert rows(client.get("/audit/?since=2026-01-10&until=2026-01-10").content.decode()) == \
        [old.pk]
    assert old.pk not in rows(client.get("/audit/?since=2026-01-11").content.decode())
    assert rows(client.get("/audit/?until=2026-01-10T11:59").content.decode()) == []
    assert rows(client.get("/audit/?since=2026-01-10T12:00&until=2026-01-10T12:01")
                .content.decode()) == [old.pk]


def test_bad_filters_are_shown_beside_their_field(world, log, client_for):
    html = client_for("superuser").get("/audit/?since=yesterday&until=2026-02-30").content \
        .decode()
    assert html.count('class="field-error"') == 2 and "Enter a date like 2026-11-29" in html
    assert rows(html) == []
    reversed_range = client_for("superuser").get("/audit/?since=2026-03-02&until=2026-03-01")
    assert "The end of the range is before its start." in reversed_range.content.decode()
    assert client_for("superuser").get("/api/audit/?since=yesterday").status_code == 400
    assert client_for("superuser").get("/audit/export/csv/?since=yesterday").status_code == 400


def test_each_row_shows_who_the_job_and_what_the_engine_did(world, client_for):
    from console.jobs.models import Job

    web = world.containers["web"]
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], team=world.teams["alpha"],
                             container=web, target_id=web.engine_id, state="failed",
                             error="cannot stop: the monitor is gone",
                             requested_by=world.user("operator"))
    entry = audit.record("container.stop", actor=world.user("operator"),
                         team=world.teams["alpha"], target=web, host=world.hosts["h1"],
                         result="requested", job=job)
    html = client_for("viewer").get("/audit/").content.decode()
    row = html.split(f'data-entry="{entry.pk}"')[1].split("</tr>")[0]
    for part in ("operator", "container.stop", f'href="/containers/{web.engine_id}/"',
                 f'href="/jobs/{job.pk}/"', "failed", "cannot stop: the monitor is gone"):
        assert part in row, part
    detail = client_for("viewer").get(f"/audit/{entry.pk}/").content.decode()
    assert 'id="chain"' in detail and "cannot stop: the monitor is gone" in detail


def set_time(pks, moment):
    """Entries are append-only through the ORM: tests move their clock in SQL."""
    value = connection.ops.adapt_datetimefield_value(moment)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET time = %%s WHERE id IN (%s)"
                       % ",".join(str(int(pk)) for pk in pks), [value])


def seed(count, *, team=None, actor_name="seed", action="container.stop", start=None):
    """`count` entries one second apart, the newest at `start`, made inside SQLite (the ORM
    takes ten times as long for a hundred thousand)."""
    assert connection.vendor == "sqlite", "the seed writes SQLite's SQL and datetime format"
    start = start or datetime(2026, 11, 1, tzinfo=timezone.utc)
    with connection.cursor() as cursor:
        # The format Django itself stores ("YYYY-MM-DD HH:MM:SS", UTC).
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO audit_auditentry (time, actor_name, team_id, team_name, action, "
            "target_type, target_id, target_name, host_name, params, result, error, "
            "user_agent) SELECT strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s - (%s - i), "
            "'unixepoch'), %s, %s, %s, %s, 'container', printf('%%064x', i), 'c' || i, 'h1', "
            "'{\"i\": ' || i || '}', 'requested', '', '' FROM n",
            [count - 1, int(start.timestamp()), count - 1, actor_name,
             team.pk if team else None, team.name if team else "", action])


def walk_pages(client, query=""):
    """Every entry, following the `older` links; returns the ids in page order."""
    seen, url = [], f"/audit/?{query}"
    while url:
        html = client.get(url).content.decode()
        seen += rows(html)
        match = re.search(r'id="older" href="\?([^"]+)"', html)
        url = "/audit/?" + match.group(1).replace("&amp;", "&") if match else None
    return seen


def test_keyset_pages_neither_skip_nor_repeat(world, client_for):
    seed(260, team=world.teams["alpha"])
    # Ties: several entries in the same microsecond are told apart by id.
    same = AuditEntry.objects.filter(actor_name="seed").order_by("pk")[100:106]
    set_time([e.pk for e in same], datetime(2026, 10, 31, 23, 59, tzinfo=timezone.utc))
    client = client_for("viewer")
    seen = walk_pages(client, "page_size=25")
    expected = list(AuditEntry.objects.filter(actor_name="seed").order_by("-time", "-pk")
                    .values_list("pk", flat=True))
    assert seen == expected and len(seen) == 260
    # And back again: the newer link of the second page is the first page.
    first = client.get("/audit/?page_size=25").content.decode()
    older = re.search(r'id="older" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get("/audit/?" + older).content.decode()
    newer = re.search(r'id="newer" href="\?([^"]+)"', second).group(1).replace("&amp;", "&")
    assert rows(client.get("/audit/?" + newer).content.decode()) == rows(first)


def test_a_bad_cursor_starts_from_the_newest(world, log, client_for):
    assert parse_cursor("nonsense") is None and parse_cursor("1.2.3") is None
    html = client_for("superuser").get("/audit/?cursor=zzz").content.decode()
    assert sorted(rows(html)) == sorted(e.pk for e in log)


def test_exports_keep_the_filters_and_the_visibility(world, log, client_for):
    text = streamed(client_for("viewer").get("/audit/export/csv/?action=container.*"))
    table = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(r["id"]) for r in table) == sorted([log[0].pk, log[1].pk])
    assert {r["team"] for r in table} == {"alpha"}
    data = json.loads(streamed(client_for("stranger").get("/audit/export/json/")))
    assert [r["id"] for r in data] == [log[3].pk]
    assert client_for("viewer").get("/audit/export/xml/").status_code == 404
    api = client_for("viewer").get("/api/audit/export/json/?team=alpha")
    assert sorted(r["id"] for r in json.loads(streamed(api))) == sorted(e.pk for e in log[:3])


def test_the_csv_export_defuses_spreadsheet_formulas(world, client_for):
    audit.record("auth.login", target_type="user", target_name="=HYPERLINK(\"http://x\")",
                 result="failed", error="@SUM(1)")
    text = streamed(client_for("superuser").get("/audit/export/csv/"))
    row = list(csv.DictReader(io.StringIO(text)))[0]
    assert row["target_name"].startswith("'=") and row["error"] == "'@SUM(1)"


def test_a_hundred_thousand_entries(world, client_for, settings):
    """Paging stays at the same few queries; exports stream all 100,000 entries."""
    alpha = world.teams["alpha"]
    client = client_for("viewer")

    def page_queries(url):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), rows(response.content.decode())

    seed(100, team=alpha, actor_name="few")
    small, first_small = page_queries("/audit/")
    seed(100_000, team=alpha, start=datetime(2026, 11, 2, tzinfo=timezone.utc))
    large, first_large = page_queries("/audit/")
    # The session, the user, whether they owe a second factor, the navigation's count of
    # access requests waiting for them, and the page's own.
    assert large == small <= 9 and len(first_large) == 50
    deep_cursor = AuditEntry.objects.filter(actor_name="seed").order_by("-time", "-pk")[60_000]
    cursor = f"{(deep_cursor.time - EPOCH) // MICROSECOND}.{deep_cursor.pk}"
    deep, deep_rows = page_queries(f"/audit/?cursor={cursor}")
    assert deep == small and deep_rows[0] == AuditEntry.objects.filter(
        actor_name="seed").order_by("-time", "-pk")[60_001].pk
    filtered, _ = page_queries("/audit/?user=few&result=requested&since=2026-10-01")
    assert filtered == small

    total = 100_100
    csv_text = streamed(client.get("/audit/export/csv/"))
    assert csv_text.count("\n") == total + 1
    parsed = list(csv.DictReader(io.StringIO(csv_text)))
    assert len({row["id"] for row in parsed}) == total
    data = json.loads(streamed(client.get("/audit/export/json/")))
    assert len(data) == total and data[0]["time"] >= data[-1]["time"]
    assert isinstance(data[5]["params"], dict) and "i" in data[5]["params"]
