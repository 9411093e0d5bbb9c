"""A host's agent in the test process: its key (made as a join makes it), its configuration,
and its client of the host API going through Django's test client instead of HTTP, so the
agent's code (console/agent/) meets the real host API (console/hostapi/) and the database
behind it. The one boundary faked is the network between them."""
from dataclasses import dataclass

from django.db import transaction
from django.test import Client

from console.agent import config, console_api
from console.agent.config import HostConfig
from console.hosts import keys


def test_client_transport(client: Client):
    """`ConsoleApi`'s `send`, through Django's test client."""
    def send(method, path, data, headers):
        extra = {}
        if "Authorization" in headers:
            extra["HTTP_AUTHORIZATION"] = headers["Authorization"]
        response = client.generic(method, path, data=data or b"",
                                  content_type=headers.get("Content-Type", ""), **extra)
        kind = response.get("Content-Type", "").split(";")[0].strip()
        content = b"".join(response.streaming_content) if response.streaming else \
            response.content
        return response.status_code, content, kind
    return send


@dataclass
class Agent:
    host: object
    key: str
    config: HostConfig
    api: console_api.ConsoleApi


def agent_of(host, monkeypatch) -> Agent:
    with transaction.atomic():
        key = keys.issue_key(host)
    host_config = HostConfig(host=host.name, console="http://testserver", key=key,
                             redis="redis://127.0.0.1:1/0")
    api = console_api.ConsoleApi(key, test_client_transport(Client()))
    monkeypatch.setattr(config, "current", lambda: host_config)
    monkeypatch.setattr(console_api, "get_api", lambda: api)
    from console.agent import sync

    monkeypatch.setattr(sync, "_measured", {})      # volume sizes measured by this "process"
    return Agent(host, key, host_config, api)
