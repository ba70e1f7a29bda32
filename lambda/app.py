"""The function: the FastAPI app and its Lambda handler (`app.handler` in template.yaml).

Run locally with `uvicorn app:app --app-dir lambda`; it also serves the page in web/ at /
when that folder exists. The model is loaded here, at import, which on Lambda is the init
phase of each container, so no request ever waits for it; a missing or broken model stops
the process right there with one line saying which file and how to fix it.
"""

from __future__ import annotations

import os
import sys

# NumPy's BLAS would start a thread per CPU at import, slowing every cold start, for
# matrices of a few hundred numbers that one thread handles as fast. Must precede NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from mangum import Mangum
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Mount

try:
    from settings import settings
except ValueError as error:  # settings.SettingsError: a DIGITS_* variable the function cannot use
    sys.exit(f"error: {error}")

import classifier

try:
    MODEL = classifier.load()
except classifier.ModelUnavailable as error:
    sys.exit(f"error: {error}")

import docs  # these describe the API from the model card, checked just above
import errors
import observability
from body_limits import BodyLimits
from routes import TAGS, router
from security import SecurityHeaders
from serving_routes import PROTOCOL_TAGS, open_inference, tf_serving


class PageMount(Mount):
    """The page's files at /, except at the API's own paths: there a method the route does not
    take gets the route's 405 (`GET /predict` -> `Allow: POST`), not the files' 404 or 405; and
    never under the serving protocols' paths, which answer unknown routes in their own shape."""

    def __init__(self, path: str, app, name: str, routes: list):
        super().__init__(path, app=app, name=name)
        self._routes = routes

    def matches(self, scope) -> tuple[Match, dict]:
        if errors.is_protocol_path(scope.get("path", "")):
            return Match.NONE, {}
        if any(route is not self and route.matches(scope)[0] != Match.NONE for route in self._routes):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(web_dir: Path = settings.web_dir) -> FastAPI:
    application = FastAPI(
        title="MNIST digit classifier",
        version=MODEL.version,
        description="Draw a digit, get it recognised. `POST /predict` takes one picture (upload, raw "
                    "image, data URL or 28x28 pixels). The model-serving protocols carry model inputs: "
                    "TensorFlow Serving's REST API under `/v1/models/digits` and the Open Inference "
                    "Protocol (KServe v2, Triton) under `/v2`.",
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
        openapi_tags=[*TAGS, *PROTOCOL_TAGS],
    )
    # /predict first: what most callers want; then the model-serving protocols.
    application.include_router(router)
    application.include_router(tf_serving)
    application.include_router(open_inference)
    errors.install(application)
    docs.install(application)
    # Outermost last: the request log sees every answer, security headers go on all of them,
    # and CORS wraps even the JSON 500 that errors.Unexpected makes of an unexpected exception.
    # Innermost, the body limits: a request's reserved bytes are given back once it is answered.
    application.add_middleware(BodyLimits, budget_bytes=settings.max_bodies_bytes,
                               max_body_bytes=settings.max_body_bytes, timeout_seconds=settings.body_timeout_seconds,
                               deadline_seconds=settings.body_deadline_seconds)
    application.add_middleware(errors.Unexpected)
    application.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                               allow_origin_regex=settings.local_origins,
                               allow_methods=["GET", "POST", "OPTIONS"],
                               allow_headers=["Content-Type", "X-Request-Id"],
                               expose_headers=["X-Request-Id"], max_age=600)
    # The page's libraries and model compress to about half (1,711 KiB -> 740 KiB in browser
    # mode); API answers are smaller than the threshold and go out as they are.
    application.add_middleware(GZipMiddleware, minimum_size=1000)
    application.add_middleware(SecurityHeaders, web_dir=web_dir, docs_prefix=docs.DOCS)
    application.add_middleware(observability.RequestLog)

    if (web_dir / "index.html").is_file():
        application.router.routes.append(PageMount("/", StaticFiles(directory=web_dir, html=True), name="web",
                                                   routes=application.router.routes))
    else:
        @application.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("docs")
    return application


app = create_app()
# Lifespan off: Mangum would otherwise run startup and shutdown around every invocation.
handler = observability.lambda_handler(Mangum(app, lifespan="off"))
