"""The record's FHIR operations, one module each, each with its own router; the app mounts
them before the generic REST routes."""

from __future__ import annotations

from fastapi import APIRouter

from services.record.operations import everything, match, merge, populate, unmerge

OPERATION_ROUTERS: list[APIRouter] = [
    everything.router,
    match.router,
    merge.router,
    populate.router,
    unmerge.router,
]
