"""Transaction entries the services write with: a create made once by its identifier, an
update guarded by the version read, a create at an id chosen beforehand (so other entries can
name it), and a resource made ready to be written again."""

from __future__ import annotations

import uuid
from typing import Any

Resource = dict[str, Any]


def unversioned(resource: Resource) -> Resource:
    """A resource without its meta, ready to be written again."""
    return {k: v for k, v in resource.items() if k != "meta"}


def created_once(resource: Resource, full_url: str) -> Resource:
    """An entry that creates ``resource`` unless its first identifier exists already."""
    identifier = resource["identifier"][0]
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
        },
    }


def guarded_put(updated: Resource, current: Resource) -> Resource:
    """An entry that updates ``current`` to ``updated`` only if nobody changed it meanwhile
    (If-Match on the version read)."""
    version = (current.get("meta") or {}).get("versionId")
    return {
        "resource": updated,
        "request": {
            "method": "PUT",
            "url": f"{updated['resourceType']}/{updated['id']}",
            **({"ifMatch": f'W/"{version}"'} if version else {}),
        },
    }


def new_id() -> str:
    return str(uuid.uuid4())


def created_at(resource: Resource) -> Resource:
    """An entry that creates ``resource`` at the id it already carries (update as create)."""
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def location(entry: Resource) -> str:
    """Where a transaction-response entry's resource is (no version)."""
    return str(entry["response"]["location"]).split("/_history")[0]
