"""/docs: Swagger UI from the pinned `swagger-ui-bundle-v2` package, so it works offline.

FastAPI's own /docs page loads Swagger UI from a CDN; this one serves the same files from
the package (installed in the Lambda zip and any container with lambda/'s requirements), and
starts it from a script file rather than inline code, so the page needs no 'unsafe-inline'.
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"
START = f"{DOCS}/start.js"
START_SCRIPT = """\
"use strict";
window.ui = SwaggerUIBundle({
  url: document.currentScript.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install(app: FastAPI) -> None:
    """Serve /docs, its start script and Swagger UI's files; call before mounting anything at /."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        title = html.escape(f"{app.title} - API reference")
        return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{root}{ASSETS}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{root}{ASSETS}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{root}{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="{root}{START}" data-openapi="{root}{app.openapi_url}"></script>
</body>
</html>
""")

    @app.get(START, include_in_schema=False)
    async def start_script() -> Response:
        return Response(START_SCRIPT, media_type="text/javascript")
