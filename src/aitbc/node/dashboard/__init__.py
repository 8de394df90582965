"""The web dashboard the node serves at ``/``: static ES modules and CSS, no build step.

The page talks only to the public API (``/v1/...`` and the ``/v1/events`` SSE stream), so
it works against one worker or many. Every dashboard response carries a strict
Content-Security-Policy (scripts and styles from this origin only, no inline code, no
framing) because the page renders data other principals wrote (payloads, names).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: Where the shipped assets live (package data of the wheel).
STATIC_DIR = Path(__file__).parent / "static"
#: URL prefix of the assets; the page itself is served at ``/``.
ASSETS_PREFIX = "/dashboard"

#: ``connect-src 'self'`` covers the API and the SSE stream of this same node.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Assets change with the installed version; revalidate rather than serve stale code.
    "Cache-Control": "no-cache",
}


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


class _DashboardFiles(StaticFiles):
    """StaticFiles whose every answer (files and 404s alike) carries the security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:  # StaticFiles raises its 404/405 instead of answering
            response = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        return _secured(response)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard page at ``/`` and its assets under ``/dashboard/``."""
    index = STATIC_DIR / "index.html"

    async def dashboard_page() -> Response:
        return _secured(FileResponse(index, media_type="text/html; charset=utf-8"))

    app.add_api_route("/", dashboard_page, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PREFIX, _DashboardFiles(directory=STATIC_DIR), name="dashboard")
