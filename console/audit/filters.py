"""Filtering and paging the audit log, the same way for the page, the exports and the API.

`AuditFilterForm` reads `user`, `team`, `action` (exact, or a prefix ending in `*`), `target`
(a name, an ID or the start of an ID), `host`, `result`, `since` and `until` (a date, or a date
and time in UTC); its errors are shown beside the fields.

Pages are keyset pages: the log is walked newest first by (time, id), and a page starts after
the (time, id) of the last row of the page before (`cursor`). Each page reads a page's worth of
an index, however long the log is (an OFFSET would read everything before the page, and a
count every matching row).

What a member sees is "their teams' entries, or their own that name no team or host" (see
`AuditQuerySet.permission_filter`): one OR, which a database answers by collecting every
matching row and sorting them. So the page reads each part apart (`parts`: one per team, and
the member's own), each a page's worth of its index in order, and merges.
The permission filter itself stays `restrict`'s, applied to every part.
"""
import heapq
from datetime import datetime, time, timedelta, timezone
from itertools import groupby

from django import forms
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from console.audit.models import AuditEntry, own_entries_naming_no_team_or_host
from console.core.permissions import team_ids_allowing

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)


class WhenField(forms.Field):
    """A date (`2026-11-29`) or a date and time (`2026-11-29T14:30`), read as UTC."""

    widget = forms.TextInput(attrs={"placeholder": "YYYY-MM-DD[THH:MM]"})

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        super().__init__(required=False, **kwargs)
        self.end_of_day = end_of_day

    def to_python(self, value):
        value = str(value or "").strip()
        if not value:
            return None
        if len(value) > 32:
            raise forms.ValidationError("Enter a date like 2026-11-29 or 2026-11-29T14:30.")
        try:
            # A bare day first: parse_datetime would read it as that day's midnight.
            day = parse_date(value) if len(value) == 10 else None
            moment = None if day else parse_datetime(value.replace(" ", "T"))
        except ValueError:
            moment = day = None
        if moment is None and day is None:
            raise forms.ValidationError("Enter a date like 2026-11-29 or 2026-11-29T14:30.")
        if moment is None:
            # A day given as the end of a range includes the whole day.
            moment = datetime.combine(day + timedelta(days=1) if self.end_of_day else day,
                                      time.min)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    team = forms.CharField(required=False, max_length=64)
    action = forms.CharField(required=False, max_length=65,
                             help_text="e.g. container.stop, or container.* for all of them")
    target = forms.CharField(required=False, max_length=200,
                             help_text="a name, an ID or the start of one")
    host = forms.CharField(required=False, max_length=63)
    result = forms.ChoiceField(required=False, choices=[("", "any result")]
                               + list(AuditEntry.Result.choices))
    since = WhenField(help_text="from (UTC)")
    until = WhenField(end_of_day=True, help_text="to (UTC)")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "The end of the range is before its start.")
        return data

    def apply(self, entries):
        """`entries` narrowed by the valid filters (call after `is_valid()`)."""
        data = self.cleaned_data
        for name, column in (("user", "actor_name"), ("team", "team_name"),
                             ("host", "host_name"), ("result", "result")):
            if data.get(name):
                entries = entries.filter(**{column: data[name].strip()})
        action = (data.get("action") or "").strip()
        if action.endswith("*"):
            entries = entries.filter(action__startswith=action[:-1])
        elif action:
            entries = entries.filter(action=action)
        target = (data.get("target") or "").strip()
        if target:
            entries = entries.filter(Q(target_name=target) | Q(target_id__startswith=target))
        if data.get("since"):
            entries = entries.filter(time__gte=data["since"])
        if data.get("until"):
            entries = entries.filter(time__lt=data["until"])
        return entries

    def active(self) -> dict:
        """The filters in use, as query parameters (for links that keep them)."""
        return {name: value for name, value in self.data.items()
                if name in self.fields and value}


def visible_entries(user, params) -> tuple[AuditFilterForm, object]:
    """The form over `params` and the entries `user` may see through it (none when invalid)."""
    form = AuditFilterForm(params)
    entries = AuditEntry.objects.restrict(user, "view")
    if not form.is_valid():
        return form, entries.none()
    return form, form.apply(entries)


# -- keyset paging ---------------------------------------------------------------------------

def cursor_of(entry) -> str:
    """Where a page ends: the entry's time in microseconds since the epoch, and its id."""
    return f"{(entry.time - EPOCH) // MICROSECOND}.{entry.pk}"


def parse_cursor(text: str | None):
    """(time, id) from `cursor_of`, or None for a missing or malformed cursor."""
    try:
        micros, pk = (int(part) for part in (text or "").split(".", 1))
        return EPOCH + micros * MICROSECOND, pk
    except (ValueError, OverflowError):
        return None


def older_than(entries, cursor):
    """Entries after `cursor` in the newest-first order. `time <= t` bounds the index range;
    the rest settles entries of the same microsecond by id."""
    moment, pk = cursor
    return entries.filter(Q(time__lt=moment) | Q(time=moment, pk__lt=pk), time__lte=moment)


def newer_than(entries, cursor):
    moment, pk = cursor
    return entries.filter(Q(time__gt=moment) | Q(time=moment, pk__gt=pk), time__gte=moment)


def parts(user, entries) -> list:
    """`entries` (already restricted to what `user` may see) as querysets that together hold
    the same rows and that each read one index in page order."""
    if user.is_superuser:
        return [entries]
    teams = list(team_ids_allowing(user, "view").values_list("team_id", flat=True))
    return [entries.filter(team_id=team) for team in sorted(teams)] + [
        entries.filter(own_entries_naming_no_team_or_host(user))]


def merged(streams, key):
    """Rows of several streams already in order, in one order, each row once."""
    for _, same in groupby(heapq.merge(*streams, key=key, reverse=True), key=key):
        yield next(same)


def newest_first(querysets, size, position=None):
    """Up to `size` entries after `position` (or the newest), from all the parts."""
    pages = [list((older_than(q, position) if position else q).order_by("-time", "-pk")[:size])
             for q in querysets]
    return list(merged(pages, key=lambda entry: (entry.time, entry.pk)))[:size]


def oldest_first(querysets, size, position):
    pages = [list(newer_than(q, position).order_by("time", "pk")[:size]) for q in querysets]
    rows = sorted({entry.pk: entry for page in pages for entry in page}.values(),
                  key=lambda entry: (entry.time, entry.pk))
    return rows[:size]


class Page:
    """One page of entries, newest first, with the cursors of the pages around it.
    `querysets` are the parts of what to show (see `parts`)."""

    def __init__(self, querysets, *, cursor=None, direction="older", size=PAGE_SIZE):
        position = parse_cursor(cursor)
        if position is not None and direction == "newer":
            rows = oldest_first(querysets, size + 1, position)
            self.has_newer = len(rows) > size
            self.rows = list(reversed(rows[:size]))
            self.has_older = True
        else:
            rows = newest_first(querysets, size + 1, position)
            self.has_older = len(rows) > size
            self.rows = rows[:size]
            self.has_newer = position is not None
        self.older = cursor_of(self.rows[-1]) if self.rows and self.has_older else None
        self.newer = cursor_of(self.rows[0]) if self.rows and self.has_newer else None


def page_size(params) -> int:
    try:
        return max(1, min(int(params.get("page_size", PAGE_SIZE)), MAX_PAGE_SIZE))
    except (TypeError, ValueError):
        return PAGE_SIZE
