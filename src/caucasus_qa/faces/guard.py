"""What stands between the web face and its users: security headers on every response, an upload
quota per user and hour, and failures shown as one line with a request id (the traceback goes to
the server log under that id, never to the browser).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from typing import Any

from caucasus_qa.errors import explain

log = logging.getLogger("caucasus_qa.faces.chat")

# Headers that cost Gradio nothing: no framing by other sites, no MIME sniffing, no referrer to
# outside links, no plugins, no powerful browser features. A script-src policy is left out:
# Gradio's own page runs inline scripts.
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"content-security-policy": b"frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
    b"cross-origin-opener-policy": b"same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response. Written by hand as
    a pure ASGI wrapper: Starlette's BaseHTTPMiddleware buffers streamed responses, and Gradio
    streams answers; a dozen lines need no extra dependency."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def user_error(exc: BaseException) -> str:
    """The line a user sees for a failure: the one-line message of a known one (store down, disk
    full, bad question); for anything else a request id to quote, the traceback logged under it."""
    known = explain(exc)
    if known is not None:
        return str(known)
    request_id = uuid.uuid4().hex[:10]
    log.error("request %s failed", request_id, exc_info=exc)
    return f"something went wrong on the server (request {request_id}); the server log has the details"


class UploadQuota:
    """Bytes each user may upload per sliding hour; thread-safe (Gradio runs handlers in threads)."""

    def __init__(self, megabytes_per_hour: float, window_s: float = 3600.0) -> None:
        self.limit = int(megabytes_per_hour * 1e6)
        self.window_s = window_s
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def take(self, user: str, size: int, now: float | None = None) -> str | None:
        """Record ``size`` bytes for ``user``; or, over the quota, record nothing and say when to retry."""
        now = time.monotonic() if now is None else now
        with self._lock:
            spent = self._spent.setdefault(user, deque())
            while spent and spent[0][0] <= now - self.window_s:
                spent.popleft()
            used = sum(n for _, n in spent)
            if used + size > self.limit:
                wait = spent[0][0] + self.window_s - now if spent else self.window_s
                return (
                    f"upload limit: {used / 1e6:.1f} of {self.limit / 1e6:g} MB used in the last hour; "
                    f"try again in {max(1, round(wait / 60))} minutes or upload fewer files"
                )
            spent.append((now, size))
            return None


def who(request: Any) -> str:
    """The quota key of a Gradio request: the login name, else the client address."""
    if request is None:
        return "local"
    return getattr(request, "username", None) or getattr(getattr(request, "client", None), "host", None) or "unknown"
