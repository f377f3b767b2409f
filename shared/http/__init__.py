"""FHIR over HTTP, shared by the gateway and every service: formats, limits, errors."""
