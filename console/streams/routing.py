"""Websocket routes: live events, a container's terminal and logs, and the one socket of each
host's agent (each consumer module in `console.streams.consumers` documents its protocol)."""
from django.urls import path

from console.streams.consumers.agent import AgentConsumer
from console.streams.consumers.events import EventsConsumer
from console.streams.consumers.logs import LogsConsumer
from console.streams.consumers.terminal import TerminalConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi(), name="ws-events"),
    path("ws/containers/<str:ref>/terminal/", TerminalConsumer.as_asgi(), name="ws-terminal"),
    path("ws/containers/<str:ref>/logs/", LogsConsumer.as_asgi(), name="ws-logs"),
    path("ws/agent/", AgentConsumer.as_asgi(), name="ws-agent"),
]
