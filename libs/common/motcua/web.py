"""HTTP for every service: JSON responses in the one error shape, and the ops endpoints."""
from __future__ import annotations

import json
import logging
from functools import partial

import eventlet
import eventlet.wsgi
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, make_wsgi_app
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from motcua.config import http_socket_timeout
from motcua.errors import MethodNotAllowed, MotCuaError, NotFound, marshmallow_fields

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


def error_status(exc: BaseException) -> int:
    """The HTTP status the one error contract answers `exc` with: below 500 the caller's fault, else ours."""
    if isinstance(exc, MotCuaError):
        return exc.http_status
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, HTTPException):
        return exc.code or 400
    return 500


def error_response(exc: Exception) -> Response:
    status = error_status(exc)
    if isinstance(exc, MotCuaError):
        body = exc.to_dict()
    elif isinstance(exc, ValidationError):
        body = MotCuaError("The request has invalid fields.", marshmallow_fields(exc.messages),
                           "validation_failed").to_dict()
    elif isinstance(exc, HTTPException):
        body = {"error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description, "fields": {}}}
    else:
        log.error("unhandled error in HTTP entrypoint", exc_info=exc)
        body = {"error": {"code": "internal_error", "message": "Something went wrong on our side.", "fields": {}}}
    return json_response(body, status)


class ServiceWsgiApp(WsgiApp):
    """Routes requests like nameko's, but what no route takes is answered in the one error shape: a 405
    with the methods the path really has in `Allow`, or a 404, unless a fallback route (the portal's
    own not-found page) takes the path. Fallbacks never widen what a real route allows."""

    def __init__(self, server: "ServiceWebServer"):
        self.server = server
        self.url_map, self.fallback_map = Map(), Map()
        for provider in server._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            (self.fallback_map if getattr(provider, "fallback", False) else self.url_map).add(rule)

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
        except RouteMethodNotAllowed as exc:
            response = error_response(MethodNotAllowed(f"This route does not take {request.method}."))
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
            return with_security_headers(response)(environ, start_response)
        except NoRoute:
            try:
                provider, values = self.fallback_map.bind_to_environ(environ).match()
            except HTTPException:
                response = with_security_headers(error_response(NotFound("There is no such route.")))
                return response(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class ServiceWebServer(WebServer):
    """nameko's web server with a read timeout on every connection, so that clients that send slowly or
    hold a connection idle cannot pin the server's green threads, and the one error shape for what no
    route takes."""

    def get_wsgi_app(self):
        return ServiceWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol, debug)
        server.socket_timeout = http_socket_timeout()
        return server


class JsonHttpHandler(HttpRequestHandler):
    """nameko's HTTP entrypoint, answering every exception in the one error shape. `fallback=True` marks a
    route that only takes what no other route does (a catch-all not-found page)."""

    server = ServiceWebServer()

    def __init__(self, method, url, fallback: bool = False, **kwargs):
        # A refusal the client can act on is a warning in the log, not an error with a traceback.
        kwargs.setdefault("expected_exceptions", MotCuaError)
        self.fallback = fallback
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


class HealthEndpoints:
    """Mixed into every service class: liveness and readiness.

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


class OpsEndpoints(HealthEndpoints):
    """Liveness, readiness and Prometheus metrics on the service's HTTP port, which only the cluster reaches."""

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


class MetricsPort(DependencyProvider):
    """Prometheus metrics on a port of their own (`METRICS_ADDRESS`, host:port), for a service whose HTTP
    port faces the public (the gateway): Prometheus scrapes this one, and no Ingress or published port
    leads to it."""

    def start(self) -> None:
        host, port = self.container.config["METRICS_ADDRESS"].rsplit(":", 1)
        self.socket = eventlet.listen((host, int(port)))
        self.server = self.container.spawn_managed_thread(partial(
            eventlet.wsgi.server, self.socket, make_wsgi_app(), log=log, log_output=False,
            socket_timeout=http_socket_timeout()), identifier="metrics_port")

    def stop(self) -> None:
        self.server.kill()
        self.socket.close()

    def kill(self) -> None:
        self.stop()
