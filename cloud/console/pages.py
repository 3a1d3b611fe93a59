"""HTTP routes that serve the console pages and their static assets (HTML, CSS, ES modules, SVG).

The pages are plain files: no template rendering, no build step, no CDN. Authentication happens in the
browser against ``/api/v1/auth/me`` (the pages hold no data), so serving them needs no session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
STATIC_PREFIX: Final = "/console/static"

# One flat folder, lower-case names with a known extension: nothing else can be asked for.
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(html|css|js|svg)$")
MEDIA_TYPES: Final = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
SECURITY_HEADERS: Final = {
    # Everything is same-origin; no inline script, no third-party anything.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def asset_path(name: str) -> Path:
    """The file behind ``/console/static/{name}``; ``HTTPException(404)`` for anything else."""
    if not _ASSET_NAME.fullmatch(name):
        raise HTTPException(status_code=404, detail="not found")
    path = STATIC_DIR / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return path


def _file(name: str) -> FileResponse:
    path = asset_path(name)
    extension = path.suffix.lstrip(".")
    return FileResponse(path, media_type=MEDIA_TYPES[extension], headers=SECURITY_HEADERS)


@router.get("/console")
async def console_page() -> FileResponse:
    """The operator console: live incident queue, detail pane, keyboard actions."""
    return _file("console.html")


@router.get("/console/admin")
async def admin_page() -> FileResponse:
    """Account management (admins): roles and street scope."""
    return _file("admin.html")


@router.get("/console/reports")
async def reports_page() -> FileResponse:
    """Reports: answer times against 60 s / 180 s, counts, false alarms, CSV; late escalation steps."""
    return _file("reports.html")


@router.get("/login")
async def login_page() -> FileResponse:
    """Operator sign-in."""
    return _file("login.html")


@router.get("/dev/phones")
async def dev_phones_page() -> FileResponse:
    """Development page: one simulated phone per guardian with the SMS the console notifier sent."""
    return _file("phones.html")


@router.get(STATIC_PREFIX + "/{name}")
async def static_asset(name: str) -> FileResponse:
    """CSS, ES modules and images of the pages."""
    return _file(name)
