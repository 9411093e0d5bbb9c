"""REST plumbing shared by every app's API: one pagination style throughout, one 409."""
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination


class ConflictError(APIException):
    """The request does not fit the current state of what it names."""

    status_code = 409
    default_code = "conflict"


class Pagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=N`, `?page_size=M` (at most 1000)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
