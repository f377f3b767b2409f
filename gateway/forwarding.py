"""Passing a request to the service that owns its route, and its answer back to the caller."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.routing import Route, RouteTable
from gateway.upstream import Upstream, forwardable
from shared.errors import FhirError

CORRELATION = "x-correlation-id"


def correlation_id(request: Request) -> str:
    """The caller's X-Correlation-Id, or one made for this request (the same every time)."""
    known = getattr(request.state, "correlation_id", None)
    if not isinstance(known, str):
        known = request.headers.get(CORRELATION) or str(uuid.uuid4())
        request.state.correlation_id = known
    return known


def route_for(routes: RouteTable, request: Request) -> Route:
    route = routes.match(request.method, request.url.path)
    if route is None:
        raise FhirError(
            404, f"No service answers {request.method} {request.url.path}", code="not-supported"
        )
    return route


def upstream_headers(
    request: Request, correlation: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    headers = forwardable(request.headers)
    headers["x-forwarded-host"] = request.headers.get("host", request.url.netloc)
    headers["x-forwarded-proto"] = request.url.scheme
    headers[CORRELATION] = correlation
    headers.update(extra or {})
    return headers


def path_with_query(
    request: Request,
    extra_params: list[tuple[str, str]] | None = None,
    drop: frozenset[str] = frozenset(),
) -> str:
    """The request's path and query, less the ``drop`` parameters, plus ``extra_params``."""
    query = request.url.query
    if drop:
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in drop]
        query = urlencode(kept)
    if extra_params:
        query = "&".join(q for q in (query, urlencode(extra_params)) if q)
    return request.url.path + (f"?{query}" if query else "")


async def stream(
    upstream: Upstream, route: Route, request: Request, headers: dict[str, str]
) -> Response:
    """Forward with both bodies streamed: nothing here needs to read them."""
    body = request.stream() if request.method in ("POST", "PUT", "PATCH") else None
    answer = await upstream.send(
        route, request.method, path_with_query(request), headers, body, stream=True
    )
    return StreamingResponse(
        answer.aiter_raw(),
        answer.status_code,
        headers=forwardable(answer.headers),
        background=BackgroundTask(answer.aclose),
    )


async def buffered(
    upstream: Upstream,
    route: Route,
    request: Request,
    headers: dict[str, str],
    body: bytes | None,
    extra_params: list[tuple[str, str]] | None = None,
    drop: frozenset[str] = frozenset(),
) -> httpx.Response:
    path = path_with_query(request, extra_params, drop)
    return await upstream.send(route, request.method, path, headers, body)


def json_body(answer: httpx.Response) -> Any:
    if not answer.content or "json" not in answer.headers.get("content-type", ""):
        return None
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return None


def replace_body(answer: httpx.Response, body: Any) -> Response:
    headers = forwardable(answer.headers)
    headers.pop("content-encoding", None)
    return Response(orjson.dumps(body), answer.status_code, headers=headers)


def as_response(answer: httpx.Response) -> Response:
    headers = forwardable(answer.headers)
    headers.pop("content-encoding", None)
    return Response(answer.content, answer.status_code, headers=headers)
