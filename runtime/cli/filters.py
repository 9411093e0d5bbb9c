"""`--filter KEY=VALUE` as Docker reads it: a key given several times keeps every value."""

from runtime.errors import InvalidArgument


def parse(values: list[str], accepted: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """{key: [values]}; Docker's errors for a filter without `=` (status 125, a bad flag)
    and, given `accepted`, for a key outside it."""
    filters: dict[str, list[str]] = {}
    for value in values:
        key, sep, wanted = value.strip().partition("=")
        if not sep:
            raise InvalidArgument(f'invalid argument "{value}" for "-f, --filter" flag: bad '
                                  'format of filter (expected name=value)', status=125)
        key = key.strip().lower()
        if accepted is not None and key not in accepted:
            raise InvalidArgument(f"invalid filter '{key}'")
        filters.setdefault(key, []).append(wanted.strip())
    return filters


PRUNE_FILTERS = ("label", "label!", "until")


def prune_matches(wanted: dict[str, list[str]], labels: dict, created: str | None) -> bool:
    """Docker's prune filters: `label=KEY[=VALUE]` (each must match), `label!=KEY[=VALUE]`
    (none may), `until=TIME` (made before it: a time, a unix time or a duration ago)."""
    from runtime.image.listing import labels_match
    if "label" in wanted and not labels_match(wanted["label"], labels):
        return False
    if any(labels_match([item], labels) for item in wanted.get("label!", ())):
        return False
    if "until" in wanted:
        from runtime.container.logs import parse_since
        limits = [parse_since(value) for value in wanted["until"]]
        if not created or any(created >= limit for limit in limits):
            return False
    return True
