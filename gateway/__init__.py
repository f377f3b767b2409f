"""The API gateway: OneStory's one front door at /fhir.

Owns authentication, scopes, consent and legitimate relationships, audit and provenance,
idempotent POSTs, rate limits and routing to the services by the routes they declare. It keeps
no FHIR resource of its own: only its operational tables (idempotent responses, the audit
queue). It must not hold domain rules; those belong to the services.
"""
