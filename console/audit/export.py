"""Exporting the audit log as CSV or JSON, streamed: rows are read in keyset chunks and written
as they come, so an export of the whole log holds one chunk in memory, not the log.

Each row carries the whole chain: who asked, what, and the job with how it ended.
"""
import csv
import itertools
import json

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone

from console.audit.filters import merged, older_than

CHUNK = 2000
COLUMNS = ["id", "time", "actor", "team", "action", "target_type", "target_id", "target_name",
           "host", "params", "result", "error", "job", "job_state", "job_error", "job_result",
           "source_ip", "user_agent"]
FIELDS = ["pk", "time", "actor_name", "team_name", "action", "target_type", "target_id",
          "target_name", "host_name", "params", "result", "error", "job_id", "job__state",
          "job__error", "job__result", "source_ip", "user_agent"]
# A spreadsheet runs a cell that starts with one of these as a formula; user agents and
# errors are other people's words.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def records(querysets):
    """Every entry of the parts `querysets` (see `filters.parts`) as a dict of COLUMNS, newest
    first, each part read CHUNK rows at a time and the parts merged as they come."""
    streams = [rows_of(queryset) for queryset in querysets]
    for row in merged(streams, key=lambda row: (row[1], row[0])):
        record = dict(zip(COLUMNS, row, strict=True))
        record["time"] = record["time"].isoformat().replace("+00:00", "Z")
        yield record


def rows_of(entries):
    rows = entries.order_by("-time", "-pk").values_list(*FIELDS)
    position = None
    while True:
        batch = list((older_than(rows, position) if position else rows)[:CHUNK])
        yield from batch
        if len(batch) < CHUNK:
            return
        position = (batch[-1][1], batch[-1][0])


class Line:
    """What csv.writer writes to: hands the line back instead of keeping it."""

    def write(self, text):
        return text


def safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(querysets):
    writer = csv.writer(Line())
    yield writer.writerow(COLUMNS)
    for record in records(querysets):
        yield writer.writerow([safe_cell(record[column]) for column in COLUMNS])


def json_lines(querysets):
    """A JSON array, one entry per line."""
    yield "["
    separator = "\n"
    for record in records(querysets):
        yield separator + json.dumps(record, sort_keys=True, default=str)
        separator = ",\n"
    yield "\n]\n"


async def served_asynchronously(lines, batch=500):
    """The lines as an async iterator, read `batch` lines at a time in the thread that holds
    the request's database connection. Under ASGI a plain iterator would be read whole into
    memory before the first byte goes out."""
    iterator = iter(lines)
    take = sync_to_async(lambda: "".join(itertools.islice(iterator, batch)),
                         thread_sensitive=True)
    while part := await take():
        yield part


def export_response(request, querysets, kind: str) -> StreamingHttpResponse:
    """A download of the entries of `querysets` (the parts from `filters.parts`) as `kind`
    ("csv" or "json")."""
    lines, content_type = {"csv": (csv_lines, "text/csv; charset=utf-8"),
                           "json": (json_lines, "application/json")}[kind]
    content = lines(querysets)
    if isinstance(getattr(request, "_request", request), ASGIRequest):
        content = served_asynchronously(content)
    response = StreamingHttpResponse(content, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="moorage-audit-{stamp}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response
