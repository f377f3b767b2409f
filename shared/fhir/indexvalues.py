"""The values a resource is indexed by, one small record per search-parameter value.

``shared.fhir.extract`` produces them from a resource; the storage engine writes each kind to
its own index table. Dates are kept as whole microseconds since the Unix epoch (UTC), with
inclusive bounds, so both storage engines compare them as plain integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StringValue:
    param: str
    value: str  # normalised: case and accents folded, whitespace collapsed
    exact: str  # as written, for :exact


@dataclass(frozen=True, slots=True)
class TokenValue:
    param: str
    system: str | None
    code: str | None
    text: str | None = None  # CodeableConcept.text / Coding.display / Identifier.type.text, folded


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    param: str
    target_type: str | None  # "Patient" for "Patient/123" or an absolute URL ending so
    target_id: str | None
    url: str | None = None  # absolute URLs and canonicals, as written
    identifier_system: str | None = None  # Reference.identifier, for :identifier
    identifier_value: str | None = None


@dataclass(frozen=True, slots=True)
class DateValue:
    param: str
    low: int  # microseconds since epoch, inclusive
    high: int  # microseconds since epoch, inclusive


@dataclass(frozen=True, slots=True)
class NumberValue:
    param: str
    value: Decimal
    low: Decimal  # implied precision range, inclusive
    high: Decimal


@dataclass(frozen=True, slots=True)
class QuantityValue:
    param: str
    value: Decimal
    low: Decimal
    high: Decimal
    system: str | None
    code: str | None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class UriValue:
    param: str
    value: str


@dataclass(slots=True)
class IndexValues:
    """Everything one resource is searchable by."""

    strings: list[StringValue] = field(default_factory=list)
    tokens: list[TokenValue] = field(default_factory=list)
    references: list[ReferenceValue] = field(default_factory=list)
    dates: list[DateValue] = field(default_factory=list)
    numbers: list[NumberValue] = field(default_factory=list)
    quantities: list[QuantityValue] = field(default_factory=list)
    uris: list[UriValue] = field(default_factory=list)
