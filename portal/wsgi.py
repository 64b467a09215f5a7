"""The serving entry point: `flask --app portal.wsgi run` (what `make run` does) or any WSGI
server (`gunicorn portal.wsgi:app`). Builds the app from the environment, then freezes the heap
(`portal.freeze_heap`)."""

from portal import create_app
from portal import freeze_heap

app = create_app()
freeze_heap()
