"""Security headers on everything the function serves: the API, /docs and the page.

The page's policy allows only what web/ does: its own scripts (plus, by hash, the inline
scripts in index.html, read when the app starts, so a change to the page needs no change
here), WebAssembly for TF.js's wasm backend ('wasm-unsafe-eval', which allows compiling
wasm and nothing else), workers and a service worker from the page's origin or blob: URLs,
images from data: and blob: URLs (canvas exports, the favicon), and API calls to its own
origin, to https services (`?api=URL`) and to local servers (`sam local`, a dev server).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def inline_script_hashes(page: Path) -> list[str]:
    """CSP sources ('sha256-...') for each inline <script> in the page, as browsers hash them."""
    try:
        html = page.read_text(encoding="utf-8")
    except OSError:
        return []
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in _INLINE_SCRIPT.findall(html)]


def page_policy(script_hashes: list[str]) -> str:
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self' 'wasm-unsafe-eval'", *script_hashes]),
        "worker-src 'self' blob:",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self' https: http://localhost:* http://127.0.0.1:*",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


# Swagger UI draws its icons as data: images; its scripts and styles are local files.
DOCS_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app, web_dir: Path, docs_prefix: str):
        self.app = app
        self.docs_prefix = docs_prefix
        page = page_policy(inline_script_hashes(web_dir / "index.html"))
        self._page = [(name.encode(), value.encode()) for name, value in
                      {**COMMON, "content-security-policy": page}.items()]
        self._docs = [(name.encode(), value.encode()) for name, value in
                      {**COMMON, "content-security-policy": DOCS_POLICY}.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope.get("path", "").startswith(self.docs_prefix) else self._page

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
