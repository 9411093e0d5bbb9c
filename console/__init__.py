"""Moorage's web console: a Django project (pages, REST API, websockets) and the Celery app
whose workers, one per host, are the only processes that drive the engine (`console.jobs`)."""
from console.celery import app as celery_app

__all__ = ("celery_app",)
