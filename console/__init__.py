"""Moorage's web console: a Django project (pages, REST API, websockets). The web side sends
each job's ID to its host's queue (`console.celery`, `console.jobs.dispatch`); each host's agent
(`console.agent`, which runs no Django) runs it, talking to the console through the host API
(`console.hostapi`)."""
