"""Every common search runs on indexes: PostgreSQL's plans for them never scan a whole table.

A record of 20,000 patients and 40,000 observations is written straight into the tables and
analysed, so the planner chooses as it would in production; then the SQL that real searches
compile to is explained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy.dialects import postgresql

from shared.fhir.queryparser import parse_search
from shared.storage.search import page_statement
from tests.conftest import make_postgres_database
from tests.support.postgres import drop_database

pytestmark = pytest.mark.postgres

POPULATION = """
INSERT INTO resource (pk, resource_type, id, version, last_updated, deleted, content)
SELECT n, 'Patient', 'p' || n, 1, 1700000000000000 + n, false, '{}'
FROM generate_series(1, 20000) AS n;
INSERT INTO resource (pk, resource_type, id, version, last_updated, deleted, content)
SELECT 100000 + n, 'Observation', 'o' || n, 1, 1700000000000000 + n, false, '{}'
FROM generate_series(1, 40000) AS n;
INSERT INTO idx_token (res_pk, resource_type, param, system, code)
SELECT n, 'Patient', 'identifier', 'https://fhir.nhs.uk/Id/nhs-number', lpad(n::text, 10, '9')
FROM generate_series(1, 20000) AS n;
INSERT INTO idx_string (res_pk, resource_type, param, value, exact)
SELECT n, 'Patient', p, 'family' || (n % 5000), 'Family' || (n % 5000)
FROM generate_series(1, 20000) AS n, unnest(ARRAY['family', 'name']) AS p;
INSERT INTO idx_date (res_pk, resource_type, param, low, high)
SELECT n, 'Patient', 'birthdate', d, d + 86399999999
FROM (SELECT n, -946684800000000 + n::bigint * 86400000000 AS d
      FROM generate_series(1, 20000) AS n) s;
INSERT INTO idx_date (res_pk, resource_type, param, low, high)
SELECT 100000 + n, 'Observation', 'date', d, d
FROM (SELECT n, 1700000000000000 + n::bigint * 600000000 AS d
      FROM generate_series(1, 40000) AS n) s;
INSERT INTO idx_reference (res_pk, resource_type, param, target_type, target_id)
SELECT 100000 + n, 'Observation', p, 'Patient', 'p' || (1 + n % 20000)
FROM generate_series(1, 40000) AS n, unnest(ARRAY['subject', 'patient']) AS p;
ANALYZE;
"""

SEARCHES = {
    "identifier": ("Patient", [("identifier", "https://fhir.nhs.uk/Id/nhs-number|9999912345")]),
    "name prefix": ("Patient", [("family", "family123")]),
    "birth date": ("Patient", [("birthdate", "1970-05-01")]),
    "date range": ("Observation", [("date", "ge2023-11-20"), ("date", "lt2023-11-21")]),
    "reference": ("Observation", [("subject", "Patient/p42")]),
    "patient with include": (
        "Observation",
        [("patient", "p42"), ("_include", "Observation:patient")],
    ),
}


@pytest.fixture(scope="module")
def planned_database(postgres_admin: str) -> Iterator[str]:
    url = make_postgres_database(postgres_admin, "plans")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    async def fill() -> None:
        connection = await asyncpg.connect(dsn)
        await connection.execute(POPULATION)
        await connection.close()

    asyncio.run(fill())
    yield dsn
    asyncio.run(drop_database(postgres_admin, url.rsplit("/", 1)[1]))


def _sql(resource_type: str, params: list[tuple[str, str]]) -> str:
    query = parse_search(resource_type, params, strict=True)
    statement = page_statement(query, page_size=50)
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("search", list(SEARCHES))
async def test_given_large_record_when_common_search_then_plan_uses_indexes_only(
    planned_database: str, search: str
) -> None:
    resource_type, params = SEARCHES[search]
    connection = await asyncpg.connect(planned_database)
    try:
        raw = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {_sql(resource_type, params)}")
    finally:
        await connection.close()
    plan = orjson.loads(raw)[0]["Plan"]
    scans = [(n["Node Type"], n.get("Relation Name")) for n in _nodes(plan)]
    assert not [s for s in scans if s[0] == "Seq Scan"], scans
    assert any("Index" in node_type for node_type, _ in scans), scans
