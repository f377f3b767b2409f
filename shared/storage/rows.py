"""A stored version of a resource, as the storage engine hands it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row


@dataclass(frozen=True, slots=True)
class StoredResource:
    pk: int
    resource_type: str
    id: str
    version: int
    last_updated: int  # microseconds since epoch
    deleted: bool
    content: str  # the resource's JSON, meta included; "" for a deletion

    @classmethod
    def from_row(cls, row: Row[Any]) -> StoredResource:
        return cls(
            pk=row.pk,
            resource_type=row.resource_type,
            id=row.id,
            version=row.version,
            last_updated=row.last_updated,
            deleted=bool(row.deleted),
            content=row.content,
        )

    def resource(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.content)
        return parsed

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"
