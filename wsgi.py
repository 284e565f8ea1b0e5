"""WSGI entry point: `gunicorn wsgi:app`. Web processes run no timers unless
CARTBACK_RUN_SCHEDULER says so (the scheduler runs in its own process)."""

from app import create_app

app = create_app()
