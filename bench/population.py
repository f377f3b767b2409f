"""A synthetic Portsmouth of any size, for measuring: the demo population's generators, in
blocks of residents that each make one transaction Bundle.

The directory (partner organisations, sites, staff, care teams, the services triage routes
to) is one Bundle, loaded first; every block of residents then refers to it by the ids the
record gave it (``resolved``). Each block draws from its own generator, seeded from the seed
and the block's number, and NHS numbers stay unique across blocks, so the same seed and size
always give the same people: about 25 resources each (conditions coded so that frailty spreads
as it does in an older population, GP appointments and emergency admissions, vital signs and
lab results, referrals, caseload and D2A episodes, carers, a few on the dynamic support
register).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

from services.record.demo import add_residents
from services.record.demo_builder import BundleBuilder, Directory, Reference, Resource
from services.record.demo_care import add_care
from services.record.demo_directory import add_care_teams, add_healthcare_services, add_services

RESOURCES_PER_RESIDENT = 25  # near enough, for turning a resource count into residents
# A block of 20 residents has about five younger adults who could be on the register; about
# one in fifty of those joins it, near the share of the city's adults on a real register.
_REGISTER_SHARE = 0.02


def directory_bundle(seed: int) -> tuple[Resource, Directory]:
    """The directory, as a transaction Bundle, and the references into it by urn:uuid."""
    builder = BundleBuilder(random.Random(seed))
    directory = add_services(builder)
    add_care_teams(builder, directory)
    add_healthcare_services(builder, directory)
    return builder.bundle(), directory


def resident_bundles(
    directory: Directory, residents: int, *, seed: int, per_bundle: int = 20
) -> Iterator[Resource]:
    """``residents`` people in transaction Bundles of ``per_bundle`` residents each."""
    nhs_numbers: set[str] = set()
    for block, first in enumerate(range(0, residents, per_bundle)):
        builder = BundleBuilder(random.Random(f"{seed}/{block}"))
        count = min(per_bundle, residents - first)
        histories = add_residents(builder, directory, count, nhs_numbers)
        add_care(builder, directory, histories, register_share=_REGISTER_SHARE)
        yield builder.bundle()


def resolved(directory: Directory, locations: dict[str, str]) -> Directory:
    """The directory with each urn:uuid replaced by the literal reference the record gave it
    (``locations`` maps fullUrl to ``Type/id``)."""

    def one(reference: Reference) -> Reference:
        return replace(reference, urn=locations[reference.urn])

    return Directory(
        orgs={key: one(r) for key, r in directory.orgs.items()},
        locations={key: one(r) for key, r in directory.locations.items()},
        staff={key: [one(r) for r in people] for key, people in directory.staff.items()},
        teams={key: one(r) for key, r in directory.teams.items()},
    )
