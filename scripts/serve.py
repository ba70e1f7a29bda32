"""`make serve`: the API and the page under uvicorn, on this machine only, for a person at a terminal.

    python scripts/serve.py [--host 127.0.0.1] [--port 8000]

Runs with the small environment `make serve` installs (.venv-serve: the function's own
requirements and uvicorn, no TensorFlow) or with .venv. Compared with the container's
entrypoint (deploy/docker/entrypoint.py), it:

* says which address is taken, and which variable picks another, before uvicorn starts
  (uvicorn itself would print "startup complete" and then fail);
* writes one readable line per request (DIGITS_LOG_FORMAT=line: method, path, status, time,
  the answer), without uvicorn's access line and without the CloudWatch metric documents,
  which only mean something on Lambda.

A model that cannot be loaded stops it with the app's own one-line message, exit status 1.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"


def port_number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: expected a whole number from 1 to 65535")
    return int(text)


def taken(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on, or None when it can."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        return f"{host} is not an address of this machine ({error.strerror})"
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"{host}:{port} is already in use by another program"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (make serve HOST=...)")
    parser.add_argument("--port", type=port_number, default=8000, help="the port (make serve PORT=...)")
    args = parser.parse_args(argv)

    problem = taken(args.host, args.port)
    if problem:
        print(f"error: {problem}; pick another port: make serve PORT={args.port + 1}"
              " (or HOST=... for another address)", file=sys.stderr)
        return 1

    os.environ.setdefault("DIGITS_LOG_FORMAT", "line")
    sys.path.insert(0, str(LAMBDA_DIR))
    import uvicorn

    import app  # a model it cannot load stops it here, with the app's one line and exit status 1

    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"The API and the page: http://{shown}:{args.port}/  (the API's documentation at /docs; "
          "Ctrl+C stops)", flush=True)
    uvicorn.run(app.app, host=args.host, port=args.port, access_log=False, log_level="warning",
                server_header=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
