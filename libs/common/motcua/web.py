"""HTTP for every service: JSON responses in the one error shape, and the ops endpoints."""
from __future__ import annotations

import json
import logging

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from motcua.errors import MotCuaError, marshmallow_fields

log = logging.getLogger(__name__)


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}  # a browser takes our JSON, CSV and metrics as sent


def with_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def error_response(exc: Exception) -> Response:
    if isinstance(exc, MotCuaError):
        return json_response(exc.to_dict(), exc.http_status)
    if isinstance(exc, ValidationError):
        error = MotCuaError("The request has invalid fields.", marshmallow_fields(exc.messages), "validation_failed")
        return json_response(error.to_dict(), 422)
    if isinstance(exc, HTTPException):
        body = {"error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description, "fields": {}}}
        return json_response(body, exc.code or 400)
    log.error("unhandled error in HTTP entrypoint", exc_info=exc)
    body = {"error": {"code": "internal_error", "message": "Something went wrong on our side.", "fields": {}}}
    return json_response(body, 500)


class JsonHttpHandler(HttpRequestHandler):
    """nameko's HTTP entrypoint, answering every exception in the one error shape."""

    def __init__(self, method, url, **kwargs):
        # A refusal the client can act on is a warning in the log, not an error with a traceback.
        kwargs.setdefault("expected_exceptions", MotCuaError)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        return with_security_headers(super().handle_request(request))

    def response_from_exception(self, exc):
        return error_response(exc)

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        return super().response_from_result(result)


http = JsonHttpHandler.decorator


class OpsEndpoints:
    """Mixed into every service class: liveness, readiness and Prometheus metrics.

    Readiness checks the service's own database; a service with none overrides `ready`.
    """

    def ready(self) -> None:
        self.db.ping()

    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/readyz")
    def readyz(self, request):
        try:
            self.ready()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return json_response({"status": "unavailable", "reason": str(exc)[:200]}, 503)
        return json_response({"status": "ready"})

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
