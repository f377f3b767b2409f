"""The synthetic population through the gateway, as ``python -m bench.load`` sends it: every
Bundle is accepted, and loading the same seed again adds nothing."""

from __future__ import annotations

from bench import load
from tests.support.services import RunningService


async def test_given_residents_when_loaded_twice_then_the_second_load_adds_nothing(
    gateway: RunningService, system_token: str
) -> None:
    async with load.client_for(gateway.base, system_token, timeout=120) as client:
        first = await load.load(client, 6, seed=41, concurrency=2)
        again = await load.load(client, 6, seed=41, concurrency=2)

    assert first["residents"] == 6
    assert first["resources_created"] == first["resources_sent"] - _directory(first)
    assert again["resources_created"] == 0


def _directory(figures: dict[str, int]) -> int:
    """The directory's entries, counted in resources_sent but not in resources_created."""
    from bench import population

    return len(population.directory_bundle(41)[0]["entry"])


def test_given_locations_when_read_then_each_becomes_a_literal_reference() -> None:
    assert load._literal("http://h/fhir/Patient/abc/_history/1") == "Patient/abc"
    assert load._literal("Organization/o1") == "Organization/o1"
