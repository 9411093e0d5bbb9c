"""Shared test configuration. Fixtures for the engine live in tests/runtime/conftest.py,
fixtures for the console (Redis, a Celery worker, daphne, the browser) in tests/console/."""
