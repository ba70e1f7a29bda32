"""Start the digit classifier in its container: uvicorn on $PORT, or awslambdaric on Lambda.

One image, two ways to run:

* Lambda (and its runtime interface emulator) set AWS_LAMBDA_RUNTIME_API: the process
  becomes `python -m awslambdaric HANDLER`, HANDLER being the image's command (`app.handler`,
  as Lambda's ImageConfig.Command would set it).
* Anywhere else it serves `app:app` with uvicorn on 0.0.0.0:$PORT (8080), with
  $WEB_CONCURRENCY worker processes (1).

Before serving, the app is imported once here, which loads the model from DIGITS_MODEL_DIR
(or the one baked into the image). A model that is missing or broken, or any setting the app
refuses, stops the container at once with one line on stderr and exit status 1, instead of a
traceback per worker or a server that answers nothing.

Settings (environment): PORT, WEB_CONCURRENCY, LOG_LEVEL (uvicorn's own log level; the app
reads it too), DIGITS_MODEL_DIR, DIGITS_WEB_DIR, ALLOWED_ORIGINS.
"""

from __future__ import annotations

import os
import sys

ASGI_APP = "app:app"
DEFAULT_HANDLER = "app.handler"
# Kubernetes waits 30 s by default between SIGTERM and SIGKILL; in-flight requests take
# milliseconds, so a few seconds of grace is plenty and keeps `docker stop` quick.
GRACEFUL_SHUTDOWN_SECONDS = 5
UVICORN_LOG_LEVELS = {"critical", "error", "warning", "info", "debug", "trace"}


def fail(message: str, status: int = 1) -> None:
    print(f"digits: cannot start: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise SystemExit(status)


def whole_number(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, "").strip() or str(default)
    if not (text.isascii() and text.isdigit() and len(text) <= 18) or not low <= int(text) <= high:
        fail(f"{name}={text!r}: expected a whole number from {low} to {high}")
    return int(text)


def load_app():
    """Import the app (and so load the model); any failure becomes one line and exit 1."""
    model_dir = os.environ.get("DIGITS_MODEL_DIR")
    if model_dir and not os.path.isdir(model_dir):
        fail(f"DIGITS_MODEL_DIR={model_dir} is not a folder; mount the folder holding digits.tflite and "
             "card.json there")
    try:
        import app
    except SystemExit:
        raise  # the app said why itself
    except Exception as error:  # whatever stops the import stops the container
        lines = str(error).strip().splitlines()
        reason = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        where = f" (model folder: {model_dir})" if model_dir else ""
        fail(f"{reason}{where}")
    return app.app


def serve() -> None:
    port = whole_number("PORT", 8080, 1, 65535)
    workers = whole_number("WEB_CONCURRENCY", 1, 1, 64)
    log_level = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"
    if log_level not in UVICORN_LOG_LEVELS:
        log_level = "info"
    application = load_app()

    import uvicorn

    options = {"host": "0.0.0.0", "port": port, "log_level": log_level,
               # the app writes one JSON line per request itself
               "access_log": False, "server_header": False,
               "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS}
    if workers == 1:
        # Serve the app already imported: no second import, so the first answer comes sooner.
        uvicorn.run(application, **options)
    else:
        # Worker processes import the app themselves; this process only supervises them.
        uvicorn.run(ASGI_APP, workers=workers, **options)


def main() -> None:
    if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        handler = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_HANDLER
        os.execv(sys.executable, [sys.executable, "-m", "awslambdaric", handler])
    serve()


if __name__ == "__main__":
    main()
