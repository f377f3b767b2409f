"""X-Request-Id makes a POST idempotent: a repeat within the window gets the first answer.

The first answer is kept in the gateway's database, so a repeat after a gateway restart is
still answered from it. A repeat that arrives while the first is still being handled waits
for it rather than running twice.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.schema import idempotent_response
from shared.errors import FhirError
from shared.storage.database import Database

MAX_REQUEST_ID = 255


@dataclass(frozen=True, slots=True)
class KeptResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyStore:
    def __init__(self, database: Database, *, window_hours: int) -> None:
        self.database = database
        self.window_us = window_hours * 3600 * 1_000_000
        self._next_expiry = 0.0

    async def claim(self, client: str, request_id: str) -> KeptResponse | None:
        """None: this request is the first and must be handled; else the first answer."""
        if not request_id or len(request_id) > MAX_REQUEST_ID:
            raise FhirError(400, f"X-Request-Id must be 1-{MAX_REQUEST_ID} characters")
        now = time.time_ns() // 1000
        await self._expire(now)
        try:
            async with self.database.transaction(write=True) as connection:
                await connection.execute(
                    insert(idempotent_response).values(
                        client_id=client, request_id=request_id, created_at=now, completed=False
                    )
                )
            return None
        except IntegrityError:
            return await self._wait_for_first(client, request_id)

    async def keep(self, client: str, request_id: str, response: KeptResponse) -> None:
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                update(idempotent_response)
                .where(
                    idempotent_response.c.client_id == client,
                    idempotent_response.c.request_id == request_id,
                )
                .values(
                    completed=True,
                    status=response.status,
                    headers=orjson.dumps(response.headers).decode(),
                    body=response.body,
                )
            )

    async def release(self, client: str, request_id: str) -> None:
        """The first request failed before answering: let a repeat try again."""
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                delete(idempotent_response).where(
                    idempotent_response.c.client_id == client,
                    idempotent_response.c.request_id == request_id,
                    idempotent_response.c.completed.is_(False),
                )
            )

    async def _wait_for_first(
        self, client: str, request_id: str, patience_seconds: float = 60.0
    ) -> KeptResponse:
        deadline = time.monotonic() + patience_seconds
        while time.monotonic() < deadline:
            async with self.database.transaction(write=False) as connection:
                row = (
                    await connection.execute(
                        select(idempotent_response).where(
                            idempotent_response.c.client_id == client,
                            idempotent_response.c.request_id == request_id,
                        )
                    )
                ).first()
            if row is None:
                raise FhirError(
                    409,
                    "The first request with this X-Request-Id failed; send it again",
                    code="conflict",
                )
            if row.completed:
                headers = [(str(k), str(v)) for k, v in orjson.loads(row.headers)]
                return KeptResponse(row.status, headers, row.body)
            await asyncio.sleep(0.05)
        raise FhirError(
            409, "A request with this X-Request-Id is still being handled", code="conflict"
        )

    async def _expire(self, now: int) -> None:
        """Forget answers older than the window, at most once a minute."""
        if time.monotonic() < self._next_expiry:
            return
        self._next_expiry = time.monotonic() + 60
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                delete(idempotent_response).where(
                    idempotent_response.c.created_at < now - self.window_us
                )
            )
