"""Request limits: body size (before reading), a deadline per request, token-bucket rate limits."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seocho_http.problems import Problem, language


class RateLimiter:
    """A token bucket per key (`rate` per second, bursts of 2 s worth); the oldest keys are forgotten."""

    def __init__(self, rate: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(1.0, 2 * rate)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def check(self, key: str) -> None:
        """`Problem("rate_limited")` (with Retry-After) when `key` has no token left."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise Problem("rate_limited", retry_after=max(1, math.ceil((1.0 - tokens) / self.rate)))
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)


async def send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    headers = dict((k.decode().lower(), v.decode()) for k, v in scope.get("headers", []))
    response = problem.response(language(headers.get("accept-language")), scope.get("path"))
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class LimitsMiddleware:
    """Refuses bodies over `max_body` (413, by Content-Length or while streaming), callers over the
    per-address rate (429), and answers 504 when a request outlives `timeout` seconds."""

    def __init__(self, app: ASGIApp, *, max_body: int, timeout: float, per_address: RateLimiter) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout
        self.per_address = per_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await send_problem(scope, send, Problem("body_too_large", f"at most {self.max_body} bytes"))
            return
        client = scope.get("client") or ("unknown", 0)
        try:
            self.per_address.check(f"addr:{client[0]}")
        except Problem as problem:
            await send_problem(scope, send, problem)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise Problem("body_too_large", f"at most {self.max_body} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            # A deadline on this task (asyncio.timeout): wait_for would make a task per request.
            async with asyncio.timeout(self.timeout):
                await self.app(scope, limited_receive, tracking_send)
        except TimeoutError:
            if not started:
                await send_problem(scope, send, Problem("timeout"))
        except Problem as problem:
            if not started:
                await send_problem(scope, send, problem)


def route_template(scope: Scope) -> Any:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
