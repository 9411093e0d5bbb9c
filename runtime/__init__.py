"""Moorage's container engine: images, layered root file systems, containers.

This package never imports Django, Celery or the console: it is a library and a command line
(`moor`, or `python -m runtime`) that runs as root on a host and keeps its state under one root
directory (see `runtime.paths`).
"""
