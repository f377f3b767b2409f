"""The benchmark's synthetic Portsmouth: the same seed makes the same people, NHS numbers are
valid and never repeat across blocks, every reference into the directory is resolved, and each
block's references stay inside its own Bundle."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bench import population
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid

Resource = dict[str, Any]


def _locations(bundle: Resource) -> dict[str, str]:
    """What a server would answer: a literal reference for every fullUrl."""
    return {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/d{n}"
        for n, entry in enumerate(bundle["entry"])
    }


def _residents(count: int, seed: int = 5, per_bundle: int = 20) -> list[Resource]:
    directory_bundle, directory = population.directory_bundle(seed)
    resolved = population.resolved(directory, _locations(directory_bundle))
    return list(population.resident_bundles(resolved, count, seed=seed, per_bundle=per_bundle))


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_given_the_same_seed_when_generated_twice_then_the_bundles_are_identical() -> None:
    assert json.dumps(_residents(30)) == json.dumps(_residents(30))


def test_given_another_seed_when_generated_then_the_people_differ() -> None:
    assert json.dumps(_residents(10, seed=5)) != json.dumps(_residents(10, seed=6))


def test_given_residents_in_blocks_when_generated_then_there_are_that_many_in_bundles() -> None:
    bundles = _residents(45, per_bundle=20)

    patients = [
        e for b in bundles for e in b["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [b["type"] for b in bundles] == ["transaction"] * 3
    assert len(patients) == 45


def test_given_many_residents_when_generated_then_nhs_numbers_are_valid_and_unique() -> None:
    numbers = [
        identifier["value"]
        for bundle in _residents(200)
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Patient"
        for identifier in entry["resource"]["identifier"]
        if identifier["system"] == NHS_NUMBER_SYSTEM
    ]

    assert len(numbers) == 200
    assert len(set(numbers)) == 200
    assert all(is_valid(n) for n in numbers)


def test_given_a_block_when_generated_then_every_reference_is_in_it_or_the_directory() -> None:
    for bundle in _residents(40):
        full_urls = {e["fullUrl"] for e in bundle["entry"]}
        for reference in _references([e["resource"] for e in bundle["entry"]]):
            if reference.startswith("urn:uuid:"):
                assert reference in full_urls
            else:
                assert reference.split("/")[1].startswith("d"), reference  # the directory's


def test_given_a_population_when_generated_then_it_holds_what_the_services_work_on() -> None:
    kinds = Counter(e["resource"]["resourceType"] for b in _residents(200) for e in b["entry"])
    resources = sum(kinds.values())

    assert 15 * 200 < resources < 40 * 200  # about RESOURCES_PER_RESIDENT each
    for kind in ("Observation", "Encounter", "Condition", "EpisodeOfCare", "ServiceRequest"):
        assert kinds[kind] > 0, kind
    assert kinds["Flag"] < 10  # the register stays a small share of the city


def test_given_every_entry_when_generated_then_it_is_a_conditional_create() -> None:
    entries = [e for b in _residents(20) for e in b["entry"]]

    assert all(e["request"]["method"] == "POST" for e in entries)
    assert all(e["request"].get("ifNoneExist") for e in entries)
