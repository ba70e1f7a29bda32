"""The function: the FastAPI app and its Lambda handler (`app.handler` in template.yaml).

Run locally with `uvicorn app:app --app-dir lambda`; it also serves the page in web/ at /
when that folder exists. The model is loaded here, at import, which on Lambda is the init
phase of each container, so no request ever waits for it.
"""

from __future__ import annotations

import os

# NumPy's BLAS would start a thread per CPU at import, slowing every cold start, for
# matrices of a few hundred numbers that one thread handles as fast. Must precede NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from mangum import Mangum

import classifier
import errors
from request_log import RequestLog
from routes import router

WEB_DIR = Path(os.environ.get("DIGITS_WEB_DIR") or Path(__file__).resolve().parent.parent / "web")
# The page opened from disk sends `Origin: null`; a local dev server, localhost with a port.
ALLOWED_ORIGINS = ["null", *filter(None, os.environ.get("ALLOWED_ORIGINS", "").split(","))]
LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


def create_app(web_dir: Path = WEB_DIR) -> FastAPI:
    application = FastAPI(
        title="MNIST digit classifier",
        version=classifier.load().version,
        description="Draw a digit, get it recognised. `POST /predict` takes one picture (upload, raw "
                    "image, data URL or 28x28 pixels); `POST /v1/models/digits:predict` speaks "
                    "TensorFlow Serving's REST format.",
    )
    application.include_router(router)
    errors.install(application)
    application.add_middleware(CORSMiddleware, allow_origins=ALLOWED_ORIGINS, allow_origin_regex=LOCAL_ORIGINS,
                               allow_methods=["GET", "POST", "OPTIONS"],
                               allow_headers=["Content-Type", "X-Request-Id"],
                               expose_headers=["X-Request-Id"], max_age=600)
    application.add_middleware(RequestLog)

    if (web_dir / "index.html").is_file():
        application.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
    else:
        @application.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("docs")
    return application


app = create_app()
# Lifespan off: Mangum would otherwise run startup and shutdown around every invocation.
handler = Mangum(app, lifespan="off")
