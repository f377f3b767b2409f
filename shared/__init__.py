"""OneStory's own library, used by the gateway and every service.

Owns what more than one service needs: the FHIR search-parameter registry and index extraction,
the storage and search engine, errors as OperationOutcome, settings, telemetry and the command
line. It must not import from services/ or gateway/.
"""
