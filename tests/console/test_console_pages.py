"""The console router serves its pages and assets, and nothing else from disk."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from cloud.console.pages import STATIC_DIR, router


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/console", "queue-list"),
        ("/login", "login-form"),
        ("/dev/phones", "开发用：模拟家属手机"),
        ("/console/admin", "new-account"),
        ("/console/reports", "incidents.csv"),
    ],
)
async def test_pages_are_html_with_a_strict_csp(client: httpx.AsyncClient, path: str, marker: str) -> None:
    async with client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert marker in response.text
    assert '<html lang="zh-CN">' in response.text


async def test_every_referenced_asset_is_served_with_its_type(client: httpx.AsyncClient) -> None:
    names = {path.name for path in STATIC_DIR.iterdir()}
    referenced: set[str] = set()
    for page in ("console.html", "login.html", "phones.html", "admin.html", "reports.html"):
        referenced |= set(re.findall(r"/console/static/([\w.-]+)", (STATIC_DIR / page).read_text()))
    for module in STATIC_DIR.glob("*.js"):
        referenced |= set(re.findall(r'from "\./([\w.-]+)"', module.read_text()))
    assert referenced <= names, f"missing assets: {referenced - names}"
    expected = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
    async with client:
        for name in sorted(referenced):
            response = await client.get(f"/console/static/{name}")
            assert response.status_code == 200, name
            suffix = name[name.rindex(".") :]
            assert response.headers["content-type"].startswith(expected[suffix]), name


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fpages.py",
        "pages.py",
        "%2e%2e%2f%2e%2e%2fpyproject.toml",
        "Console.css",
        "missing.js",
        ".hidden.js",
    ],
)
async def test_nothing_outside_the_static_folder_is_served(client: httpx.AsyncClient, name: str) -> None:
    async with client:
        response = await client.get(f"/console/static/{name}")
    assert response.status_code == 404


def test_static_sources_use_no_cdn_and_no_inline_markup_injection() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "https://" not in text, path.name
        if path.suffix == ".js":
            assert ".innerHTML" not in text, path.name
            assert "eval(" not in text, path.name


async def test_login_form_cannot_leak_the_password_into_a_url(client: httpx.AsyncClient) -> None:
    """Until login.js attaches its handler the form must not submit, and never as a GET (URL = logs)."""
    html = (await client.get("/login")).text
    form = re.search(r"<form[^>]*id=\"login-form\"[^>]*>", html)
    assert form is not None and 'method="post"' in form.group(0)
    submit = re.search(r"<button type=\"submit\"[^>]*>", html)
    assert submit is not None and "disabled" in submit.group(0)
