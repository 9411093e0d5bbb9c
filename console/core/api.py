"""REST plumbing shared by every app's API: one pagination style throughout."""
from rest_framework.pagination import PageNumberPagination

from console.core.errors import Invalid


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
            raise Invalid(fields={self.page_size_query_param: [
                f"A whole number of at least 1 (at most {self.max_page_size} are given)."]})
        return min(size, self.max_page_size)


def json_object(data) -> dict:
    """A request's body that must be one JSON object (DRF's parsed `request.data`)."""
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.")
    return dict(data)
