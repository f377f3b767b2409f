"""One place that turns every failure into an OperationOutcome response."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from shared.errors import FhirError
from shared.http.fhirjson import error_response

log = logging.getLogger("onestory.http")

_HTTP_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 415: "not-supported"}


def install_error_handlers(app: FastAPI) -> None:
    """FhirError, routing errors and anything unexpected all answer an OperationOutcome."""

    async def fhir_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, FhirError)
        return error_response(error)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        message = {
            404: f"There is nothing at {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(error.status_code, str(error.detail))
        code = _HTTP_CODES.get(error.status_code, "processing")
        return error_response(FhirError(error.status_code, message, code=code))

    async def validation_error(request: Request, error: Exception) -> Response:
        return error_response(FhirError(400, f"The request is not valid: {error}"))

    async def unexpected(request: Request, error: Exception) -> Response:
        # The message and traceback may hold patient data: log only the type and route.
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return error_response(
            FhirError(500, "The server failed to answer; the failure is logged", code="exception")
        )

    app.add_exception_handler(FhirError, fhir_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
