"""The portal for a WSGI server, built once per worker: ``gunicorn core.wsgi:app``."""

from __future__ import annotations

import gc

from core.app import create_app

app = create_app()

# What start-up made (modules, plugins, templates, catalogs) lives as long as the worker.
# Frozen, the garbage collector's full passes no longer walk it at every busy request: a month
# of the agenda allocates enough objects to set one off.
gc.freeze()
