from django.apps import AppConfig


class AgentConfig(AppConfig):
    """The host agent: no models; its tasks are found by `console.celery`, its management
    command (`stream_bridge`) by Django."""

    name = "console.agent"
    label = "agent"
