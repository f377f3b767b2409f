"""The record's storage and search engine, one code path for PostgreSQL and SQLite.

Owns every SQL statement about FHIR resources: the tables (``schema``), connections and
transactions (``database``), writing versions and index rows (``writes``), reading and history
(``reads``) and search (``search``). It knows nothing of HTTP; it raises ``FhirError``.
"""
