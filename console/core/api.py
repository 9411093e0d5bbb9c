"""REST plumbing shared by every app's API: one pagination style throughout, one 409."""
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination


class ConflictError(APIException):
    """The request does not fit the current state of what it names."""

    status_code = 409
    default_code = "conflict"


class Pagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=N`, `?page_size=M` (a whole number
    from 1; more than 1000 gives 1000). A page size that is not one is a 400, not ignored."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param, "")
        if value == "":
            return self.page_size
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number of at least 1 (at most {self.max_page_size} are given)."]})
        return min(size, self.max_page_size)
