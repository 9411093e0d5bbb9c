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
