"""The riskctl dashboard (SPEC §4): one web page over riskctl's state, read-only.

``riskctl dashboard`` calls :func:`run_dashboard`; :func:`create_app` builds the FastAPI app from
a way to open a :class:`riskctl.service.Session`, so tests and other hosts can serve it too.

::

    command.py   run_dashboard / prepare_dashboard: loopback check, bind, uvicorn
    app.py       create_app: the page, /api/* (JSON), security headers, JSON errors
    views.py     pure shaping of audit entries and reports for the endpoints
    readonly.py  the deploy target the dashboard's sessions use: status without converging
    static/      index.html, dashboard.js, dashboard.css, favicon.svg (package data)
"""

from riskctl.dashboard.app import create_app
from riskctl.dashboard.command import prepare_dashboard, run_dashboard
from riskctl.dashboard.readonly import ReadOnlyRolloutTarget, read_only_target

__all__ = [
    "ReadOnlyRolloutTarget",
    "create_app",
    "prepare_dashboard",
    "read_only_target",
    "run_dashboard",
]
