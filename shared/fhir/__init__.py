"""FHIR knowledge without I/O: search parameters, FHIRPath, index values, query parsing."""
