"""The OpenAPI schema's entry for `GET /api/containers/{id}/logs/`, a plain async Django view
(it streams) that drf-spectacular does not see by itself: added by a postprocessing hook, so
the schema lists every endpoint of the API."""


def _flag(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "boolean"}}


LOGS = {
    "get": {
        "operationId": "containers_logs",
        "summary": "The container's log as text",
        "description": ("Streamed from the host's bridge. With `follow`, the response stays "
                        "open and new lines arrive as they are written; it ends when the "
                        "container's output ends, or when the login session or token it was "
                        "opened with lapses or the permission goes."),
        "tags": ["containers"],
        "parameters": [
            {"name": "id", "in": "path", "required": True,
             "description": "The container: full ID, unique ID prefix or name.",
             "schema": {"type": "string"}},
            _flag("follow", "keep the response open and send new lines"),
            {"name": "tail", "in": "query", "required": False,
             "description": "start with the last N lines (or `all`)",
             "schema": {"type": "string"}},
            _flag("timestamps", "each line starts with the time it was written"),
            _flag("stdout", "include standard output (default true)"),
            _flag("stderr", "include standard error (default true)"),
            _flag("download", "answer as a file named after the container"),
        ],
        "security": [{"tokenAuth": []}, {"cookieAuth": []}],
        "responses": {
            "200": {"description": "The log, one line per line.",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            "400": {"description": "A bad parameter."},
            "401": {"description": "Not authenticated."},
            "403": {"description": "The container is visible but its logs are not yours."},
            "404": {"description": "No such container (or not visible to you)."},
            "504": {"description": "The host's stream bridge did not answer."},
        },
    },
}


def add_log_endpoint(result, generator, request, public):
    result.setdefault("paths", {})["/api/containers/{id}/logs/"] = LOGS
    return result
