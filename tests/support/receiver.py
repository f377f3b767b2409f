"""A partner's rest-hook endpoint, as a real process: it keeps every delivery it is sent.

Run with uvicorn; RECEIVER_DIR says where to write ``deliveries.jsonl``; while a file named
``fail`` exists there it answers 503, as an endpoint that is down would; while a file named
``slow`` exists, it takes that many seconds to answer (noting in ``arrivals`` that a delivery
has arrived and is being worked on).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FOLDER = Path(os.environ.get("RECEIVER_DIR", "."))


async def hook(request: Request) -> Response:
    if (FOLDER / "fail").exists():
        return Response(status_code=503)
    body = await request.body()
    slow = FOLDER / "slow"
    if slow.exists():
        with (FOLDER / "arrivals").open("ab") as arrivals:
            arrivals.write(b"arrived\n")
        await asyncio.sleep(float(slow.read_text() or "1"))
    record = {
        "headers": dict(request.headers),
        "body": orjson.loads(body) if body else None,
        "received_at": time.time_ns() // 1000,
    }
    with (FOLDER / "deliveries.jsonl").open("ab") as deliveries:
        deliveries.write(orjson.dumps(record) + b"\n")
    return Response(status_code=200)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/health", health)])
