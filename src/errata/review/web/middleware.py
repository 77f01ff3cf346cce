"""The ASGI layers around the review app, outermost first: security headers on every response,
the forwarded headers of a trusted proxy (only when one is configured), the ``Host`` check, and
the signed session cookie (``Secure`` when the request came over HTTPS)."""

from collections.abc import Awaitable, Callable

from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "errata_review"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Add the security headers to every HTTP response (a plain ASGI wrapper: Starlette's
    ``BaseHTTPMiddleware`` costs a task and a stream copy per request); a header the response
    already has is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self._extra if k not in have
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SessionsByScheme:
    """``Secure`` session cookies over HTTPS (as a trusted proxy reports it), plain ones over
    HTTP; the cookie is signed with the project's key and lives at most ``max_age`` seconds."""

    def __init__(self, app: ASGIApp, *, secret: str, max_age: int) -> None:
        self.app = app
        self._plain, self._secure = (
            SessionMiddleware(
                app,
                secret_key=secret,
                session_cookie=COOKIE,
                max_age=max_age,
                same_site="strict",
                https_only=secure,
            )
            for secure in (False, True)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mw = self._secure if scope.get("scheme") in ("https", "wss") else self._plain
        await mw(scope, receive, send)


def wrap(
    app: ASGIApp,
    *,
    secret: str,
    max_age: int,
    allowed_hosts: list[str],
    trusted_proxy: str | None,
) -> SecurityHeaders:
    """``app`` inside its sessions, the ``Host`` check, the trusted proxy's headers and the
    security headers."""
    # uvicorn's ASGI types are narrower than Starlette's: the stack is any ASGI callable
    stack: Callable[..., Awaitable[None]] = TrustedHostMiddleware(
        SessionsByScheme(app, secret=secret, max_age=max_age), allowed_hosts=allowed_hosts
    )
    if trusted_proxy:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        stack = ProxyHeadersMiddleware(stack, trusted_hosts=trusted_proxy)
    return SecurityHeaders(stack)
