"""One merge or un-merge in one write transaction: committed whole, or, for a preview, worked
out in full (every version, index row and check) and then rolled back, so the answer is
exactly what the real call would do and nothing is left behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from services.record.context import RecordRequest
from services.record.writes import RecordWriter

Done = TypeVar("Done")


class _Preview(Exception, Generic[Done]):
    """Raised out of the transaction to roll it back, carrying what it would have done."""

    def __init__(self, done: Done) -> None:
        super().__init__("preview")
        self.done = done


async def in_transaction(
    ctx: RecordRequest, work: Callable[[RecordWriter], Awaitable[Done]], *, preview: bool
) -> Done:
    """``work`` with the record's writer; local references checked before commit, and
    subscribers woken after it."""
    try:
        async with ctx.database.transaction(write=True) as connection:
            writer = ctx.writer(connection)
            done = await work(writer)
            await writer.verify_references()
            if preview:
                raise _Preview(done)
    except _Preview as rolled_back:
        previewed: Done = rolled_back.done
        return previewed
    ctx.committed(writer)
    return done
