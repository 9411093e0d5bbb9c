"""The API documentation page, rendered from the OpenAPI schema (no external assets)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@login_required
def api_docs(request):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                operations.append({
                    "path": path, "method": method.upper(),
                    "summary": (operation.get("description") or operation.get("summary")
                                or "").strip().split("\n")[0],
                    "tag": (operation.get("tags") or [""])[0],
                })
    return render(request, "api_docs.html", {"operations": operations,
                                             "title": schema["info"]["title"]})
