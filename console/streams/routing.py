"""Websocket routes. Streams for one container (terminal, logs) are added here next to the
events stream, each with its own consumer module in `console.streams.consumers`."""
from django.urls import path

from console.streams.consumers.events import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi(), name="ws-events"),
]
