"""The language of one HTTP request: an ASGI middleware for the server (`fbsdetect serve`).

Each request is answered in the language its `Accept-Language` header asks
for (`zh-CN,zh;q=0.9` -> Chinese), else in the process's language (`serve
--lang`, `$FBSDETECT_LANG`, ...). The language is a context variable
(`fbsdetect.i18n.using`) set around the whole request: a pure ASGI middleware
runs the app in the request's own task, and Starlette runs sync endpoints in
a thread with a copy of that context, so concurrent requests in different
languages never see each other's. A request without the header (a node's
ingest) costs one header lookup.
"""

from __future__ import annotations

from typing import Any

from fbsdetect import i18n


class LanguageMiddleware:
    """`app.add_middleware(LanguageMiddleware)`: every HTTP request in its Accept-Language's language."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        header = None
        if scope.get("type") == "http":
            for k, v in scope.get("headers") or ():
                if k == b"accept-language":
                    header = v.decode("latin-1")
                    break
        if header is None:
            await self.app(scope, receive, send)
            return
        with i18n.using(i18n.accept_language(header, default=i18n.current())):
            await self.app(scope, receive, send)
