"""Search criteria compiled to SQL: each criterion becomes a condition on ``resource.pk``.

Every condition is a semi-join into one index table on (resource_type, param, value...), so
searches run on indexes. Date, number and quantity prefixes follow the FHIR R4 range rules:
a resource's value is a range [low, high] and so is the search value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, FromClause, Table, and_, false, not_, or_, select, true

from shared.errors import bad_request
from shared.fhir.dates import date_range, number_range
from shared.fhir.searchquery import Criterion, HasCriterion, SearchValue
from shared.fhir.text import fold
from shared.storage.schema import (
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
    resource,
)

TABLE_OF_TYPE: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "reference": idx_reference,
    "date": idx_date,
    "number": idx_number,
    "quantity": idx_quantity,
    "uri": idx_uri,
}
# Above every character: the exclusive upper bound of a prefix range in byte order.
_PREFIX_END = "\U0010ffff"
_DAY_US = 86_400_000_000
# A reference into this record: stored relative ("Patient/1"), so it has no absolute URL.
LOCAL = idx_reference.c.url.is_(None)


def condition(
    target: FromClause,
    resource_type: str | None,
    criterion: Criterion | HasCriterion,
    base_url: str = "",
) -> ColumnElement[bool]:
    """The SQL condition that a row of ``target`` (the resource table or an alias of it) of
    ``resource_type`` (None: any type) meets. ``base_url`` makes absolute references to this
    server local."""
    if isinstance(criterion, HasCriterion):
        if resource_type is None:
            raise bad_request("'_has' needs a resource type to search")
        return _has(target, resource_type, criterion, base_url)
    code = criterion.param.code
    if code == "_id":
        return _on_id(target, criterion)
    if code == "_lastUpdated":
        return _on_last_updated(target, criterion)
    table = TABLE_OF_TYPE.get(criterion.param.type)
    if table is None:
        raise bad_request(f"Searching by '{code}' ({criterion.param.type}) is not supported")
    rows = select(table.c.res_pk).where(table.c.param == code)
    if resource_type is not None:
        rows = rows.where(table.c.resource_type == resource_type)
    pk = target.c.pk
    if criterion.modifier == "missing":
        return pk.not_in(rows) if _missing_flag(criterion) else pk.in_(rows)
    if criterion.chain is not None:
        return pk.in_(rows.where(_chain(criterion, base_url)))
    match = or_(*(_value_match(criterion, value, table, base_url) for value in criterion.values))
    if criterion.modifier == "not":
        return pk.not_in(rows.where(match))
    return pk.in_(rows.where(match))


def _missing_flag(criterion: Criterion) -> bool:
    flag = criterion.values[0].text if criterion.values else ""
    if flag not in ("true", "false"):
        raise bad_request(f"':missing' on '{criterion.param.code}' takes true or false")
    return flag == "true"


def _on_id(target: FromClause, criterion: Criterion) -> ColumnElement[bool]:
    if criterion.modifier == "missing":
        return false() if _missing_flag(criterion) else true()
    ids = [value.parts[-1] for value in criterion.values]
    if criterion.modifier == "not":
        return target.c.id.not_in(ids)
    return target.c.id.in_(ids)


def _on_last_updated(target: FromClause, criterion: Criterion) -> ColumnElement[bool]:
    column = target.c.last_updated
    return or_(*(_date_match(column, column, value) for value in criterion.values))


def _value_match(
    criterion: Criterion, value: SearchValue, table: Table, base_url: str
) -> ColumnElement[bool]:
    match_by_type: dict[str, Callable[[], ColumnElement[bool]]] = {
        "string": lambda: _string_match(criterion.modifier, value),
        "token": lambda: _token_match(criterion.modifier, value),
        "reference": lambda: _reference_match(criterion, value, base_url),
        "date": lambda: _date_match(table.c.low, table.c.high, value),
        "number": lambda: _number_match(table, value),
        "quantity": lambda: _quantity_match(value),
        "uri": lambda: _uri_match(criterion.modifier, value),
    }
    return match_by_type[criterion.param.type]()


def _string_match(modifier: str | None, value: SearchValue) -> ColumnElement[bool]:
    folded = fold(value.text)
    if modifier == "exact":
        return and_(idx_string.c.value == folded, idx_string.c.exact == value.text)
    if modifier == "contains":
        return idx_string.c.value.contains(folded, autoescape=True)
    return and_(idx_string.c.value >= folded, idx_string.c.value < folded + _PREFIX_END)


def _token_match(modifier: str | None, value: SearchValue) -> ColumnElement[bool]:
    if modifier == "text":
        return idx_token.c.text.contains(fold(value.text), autoescape=True)
    if modifier not in (None, "not"):
        raise bad_request(f"The ':{modifier}' modifier is not supported on token parameters")
    if len(value.parts) == 1:
        return idx_token.c.code == value.parts[0]
    system, code = value.parts[0], "|".join(value.parts[1:])
    if not system:
        return and_(idx_token.c.code == code, idx_token.c.system.is_(None))
    if not code:
        return idx_token.c.system == system
    return and_(idx_token.c.system == system, idx_token.c.code == code)


def _reference_match(
    criterion: Criterion, value: SearchValue, base_url: str
) -> ColumnElement[bool]:
    if criterion.modifier == "identifier":
        return _identifier_reference(value)
    text = value.text
    if base_url and text.startswith(base_url.rstrip("/") + "/"):
        text = text[len(base_url.rstrip("/")) + 1 :]
    if "://" in text or text.startswith("urn:"):
        return idx_reference.c.url == text
    segments = text.split("/_history/")[0].split("/")
    target_type = segments[-2] if len(segments) >= 2 else criterion.target_type
    match = and_(idx_reference.c.target_id == segments[-1], LOCAL)
    if target_type:
        match = and_(match, idx_reference.c.target_type == target_type)
    return match


def _identifier_reference(value: SearchValue) -> ColumnElement[bool]:
    if len(value.parts) == 1:
        return idx_reference.c.identifier_value == value.parts[0]
    system, code = value.parts[0], "|".join(value.parts[1:])
    match = idx_reference.c.identifier_system == system
    return and_(match, idx_reference.c.identifier_value == code) if code else match


def _chain(criterion: Criterion, base_url: str) -> ColumnElement[bool]:
    assert criterion.chain is not None
    target_type = criterion.target_type or _single_target(criterion)
    inner = resource.alias()
    targets = select(inner.c.id).where(
        inner.c.resource_type == target_type,
        inner.c.deleted.is_(False),
        condition(inner, target_type, criterion.chain, base_url),
    )
    return and_(idx_reference.c.target_type == target_type, idx_reference.c.target_id.in_(targets))


def _single_target(criterion: Criterion) -> str:
    targets = criterion.param.targets
    if len(targets) != 1:
        raise bad_request(
            f"Chaining through '{criterion.param.code}' needs a type: it may refer to "
            + ", ".join(targets)
        )
    return targets[0]


def _has(
    target: FromClause, resource_type: str, has: HasCriterion, base_url: str
) -> ColumnElement[bool]:
    inner = resource.alias()
    referrers = select(inner.c.pk).where(
        inner.c.resource_type == has.resource_type,
        condition(inner, has.resource_type, has.criterion, base_url),
    )
    referred = select(idx_reference.c.target_id).where(
        idx_reference.c.resource_type == has.resource_type,
        idx_reference.c.param == has.reference.code,
        idx_reference.c.target_type == resource_type,
        LOCAL,
        idx_reference.c.res_pk.in_(referrers),
    )
    return target.c.id.in_(referred)


def _date_match(
    low: ColumnElement[int], high: ColumnElement[int], value: SearchValue
) -> ColumnElement[bool]:
    try:
        start, end = date_range(value.text)
    except ValueError as error:
        raise bad_request(f"'{value.text}' is not a FHIR date: {error}") from error
    return _range_match(low, high, start, end, value.prefix, _approximate_date(start))


def _approximate_date(start: int) -> int:
    now = int(datetime.now(UTC).timestamp() * 1_000_000)
    return max(abs(now - start) // 10, _DAY_US)


def _range_match(
    low: ColumnElement[int],
    high: ColumnElement[int],
    start: int | float,
    end: int | float,
    prefix: str,
    approximation: int | float,
) -> ColumnElement[bool]:
    """FHIR R4 prefix semantics between a stored range and a searched range."""
    within = and_(low >= start, high <= end)
    rules: dict[str, ColumnElement[bool]] = {
        "eq": within,
        "ne": not_(within),
        "gt": high > end,
        "lt": low < start,
        "ge": or_(high > end, within),
        "le": or_(low < start, within),
        "sa": low > end,
        "eb": high < start,
        "ap": and_(low <= end + approximation, high >= start - approximation),
    }
    return rules[prefix]


def _number_match(table: Table, value: SearchValue) -> ColumnElement[bool]:
    """FHIR R4 number rules; "100" means the half-open range [99.5, 100.5)."""
    number, low, high = _number(value.parts[0])
    column = table.c.value
    exact = {
        "eq": and_(column >= float(low), column < float(high)),
        "ne": or_(column < float(low), column >= float(high)),
        "gt": column > float(number),
        "lt": column < float(number),
        "ge": column >= float(number),
        "le": column <= float(number),
        "sa": column > float(high),
        "eb": column < float(low),
        "ap": and_(column >= float(number) * 0.9, column <= float(number) * 1.1),
    }
    return exact[value.prefix]


def _number(text: str) -> tuple[Decimal, Decimal, Decimal]:
    try:
        return number_range(text)
    except ValueError as error:
        raise bad_request(f"'{text}' is not a number") from error


def _quantity_match(value: SearchValue) -> ColumnElement[bool]:
    match = _number_match(idx_quantity, value)
    system = value.parts[1] if len(value.parts) > 1 else ""
    code = "|".join(value.parts[2:]) if len(value.parts) > 2 else ""
    if system:
        match = and_(match, idx_quantity.c.system == system)
    if code and system:
        match = and_(match, idx_quantity.c.code == code)
    elif code:
        match = and_(match, or_(idx_quantity.c.code == code, idx_quantity.c.unit == code))
    return match


def _uri_match(modifier: str | None, value: SearchValue) -> ColumnElement[bool]:
    text = value.text
    if modifier == "below":
        return and_(idx_uri.c.value >= text, idx_uri.c.value < text + _PREFIX_END)
    if modifier == "above":
        return idx_uri.c.value.in_(_ancestors(text))
    return idx_uri.c.value == text


def _ancestors(url: str) -> list[str]:
    """The URL and every path prefix of it, with and without the trailing '/': a resource at
    ``.../ValueSet/x`` is above ``.../ValueSet/x/_history/3``."""
    cuts = [i for i, char in enumerate(url) if char == "/"]
    return [url, *(url[: i + 1] for i in cuts), *(url[:i] for i in cuts if i)]
