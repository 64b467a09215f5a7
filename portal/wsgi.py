"""The serving entry point: `flask --app portal.wsgi run` (what `make run` does) or any WSGI
server (`gunicorn portal.wsgi:app`). Builds the app from the environment, then freezes the heap
and spaces out the garbage collector's passes (`portal.tune_garbage_collector`)."""

from portal import create_app
from portal import tune_garbage_collector

app = create_app()
tune_garbage_collector()
