"""Failed logins slow down, per client: after a few, each more makes the client wait longer.

Gradio's /login answers as fast as it is asked (30 wrong passwords took 208 ms), so a password
could be guessed at that rate. This ASGI middleware sits in front of it: a client's first
FREE_FAILURES failures cost nothing, each further one closes /login to that client (and only
it) for twice as long as the last, up to MAX_WAIT seconds, answered 429 with Retry-After. A
right password clears the count; so do FORGET_AFTER seconds without a failure.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass

FREE_FAILURES = 5
FIRST_WAIT = 1.0  # seconds, doubled with each failure past the free ones
MAX_WAIT = 300.0
FORGET_AFTER = 900.0


@dataclass
class _Client:
    failures: int = 0
    last: float = 0.0  # when the last failure came
    open_at: float = 0.0  # when /login answers this client again


class LoginThrottle:
    """ASGI middleware slowing down failed logins per client address (see the module)."""

    def __init__(self, app, clock=time.monotonic):
        self.app, self.clock = app, clock
        self.clients: dict[str, _Client] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].rstrip("/").endswith("/login")
        ):
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("unknown",))[0]
        wait = self.wait(address)
        if wait > 0:
            return await _refuse(send, wait)
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.succeeded(address)
        elif status.get("code") in (400, 401, 403):  # Gradio: 400 "Incorrect credentials."
            self.failed(address)

    def wait(self, address: str) -> float:
        """Seconds until /login answers this client again (0: now)."""
        with self.lock:
            client = self.clients.get(address)
            return max(0.0, client.open_at - self.clock()) if client else 0.0

    def failed(self, address: str) -> None:
        now = self.clock()
        with self.lock:
            client = self.clients.setdefault(address, _Client())
            if now - client.last > FORGET_AFTER:
                client.failures = 0
            client.failures += 1
            client.last = now
            beyond = client.failures - FREE_FAILURES
            if beyond > 0:
                client.open_at = now + min(MAX_WAIT, FIRST_WAIT * 2 ** (beyond - 1))
            if len(self.clients) > 10_000:  # many addresses: forget the quiet ones
                for quiet in [a for a, c in self.clients.items() if now - c.last > FORGET_AFTER]:
                    del self.clients[quiet]

    def succeeded(self, address: str) -> None:
        with self.lock:
            self.clients.pop(address, None)


async def _refuse(send, wait: float) -> None:
    seconds = math.ceil(wait)
    body = json.dumps(
        {"detail": f"Too many failed logins from this address; try again in {seconds} s."}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
