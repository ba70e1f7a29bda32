"""How long a request may take to send its body, and how many body bytes all requests hold at once.

A server that buffers bodies must bound both, or clients that send most of a large body and
then pause hold its memory for as long as they like (40 of them held 164 MB; 80 took the
container past its memory limit). So, as ASGI middleware around the app:

* each request reserves its body's size from one budget shared by every request (the
  declared Content-Length when it starts reading, or the bytes as they arrive), and gives it
  back when its answer is sent; when the budget cannot cover a new body the request is
  refused at once with 503 and Retry-After, before any of it is buffered;
* each wait for the next part of a body lasts at most settings.body_timeout_seconds, and the
  whole body must arrive within settings.body_deadline_seconds; past either, 408.

The refusals are raised from `receive`, so they reach the route that is reading the body and
are answered like every other input error (errors.py). On Lambda (Mangum puts the event in
the scope) API Gateway has received the whole body already: nothing to bound.
"""

from __future__ import annotations

import anyio

from input_errors import BodyTimeout, Busy, megabytes
from reading import whole_number

RETRY_AFTER_SECONDS = 1  # a canvas request takes milliseconds: bodies are freed about that fast


class BodyLimits:
    def __init__(self, app, *, budget_bytes: int, max_body_bytes: int, timeout_seconds: float,
                 deadline_seconds: float):
        self.app = app
        self.budget_bytes = budget_bytes
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.held_bytes = 0  # changed only on the event loop, between awaits: no lock needed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or "aws.event" in scope:
            await self.app(scope, receive, send)
            return
        declared = next((whole_number(value.decode("latin-1")) for name, value in scope.get("headers", ())
                         if name == b"content-length"), None)
        reserved = received = 0
        deadline = None
        complete = False

        async def limited_receive():
            nonlocal reserved, received, deadline, complete
            if complete:  # after the body only a disconnect can come: no time limit on waiting for it
                return await receive()
            now = anyio.current_time()
            deadline = deadline or now + self.deadline_seconds
            with anyio.move_on_after(min(self.timeout_seconds, deadline - now)) as waiting:
                message = await receive()
            if waiting.cancelled_caught:
                raise stalled(received, declared, deadline - now <= self.timeout_seconds, self.timeout_seconds,
                              self.deadline_seconds)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                wanted = max(received, min(declared or 0, self.max_body_bytes))
                if wanted > reserved:
                    self._reserve(wanted - reserved)
                    reserved = wanted
            return message

        try:
            await self.app(scope, limited_receive, send)
        finally:
            self.held_bytes -= reserved

    def _reserve(self, size: int) -> None:
        if self.held_bytes + size > self.budget_bytes:
            raise busy(self.budget_bytes)
        self.held_bytes += size


def stalled(received: int, declared: int | None, past_deadline: bool, timeout_seconds: float,
            deadline_seconds: float) -> BodyTimeout:
    """408: the body stopped arriving, or took longer than the deadline."""
    expected = f" of the {declared:,} declared" if declared is not None else ""
    if past_deadline:
        return BodyTimeout(f"the request body did not arrive within {deadline_seconds:g} s ({received:,} bytes"
                           f"{expected} came); send it at once")
    return BodyTimeout(f"the request body stopped arriving: no bytes for {timeout_seconds:g} s after {received:,}"
                       f"{expected}; send the whole body without pausing")


def busy(budget_bytes: int) -> Busy:
    """503: every byte of the budget is held by bodies arriving."""
    return Busy(f"the server is receiving as many request bodies as it can hold ({megabytes(budget_bytes)} "
                f"at once); try again in {RETRY_AFTER_SECONDS} s", RETRY_AFTER_SECONDS)
