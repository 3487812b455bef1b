"""The gateway's HTTP entrypoint: correlation id in and out, the body limit, HTML errors for pages."""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from io import BytesIO

from eventlet.event import Event
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from motcua.config import env
from motcua.db import new_correlation_id
from motcua.errors import PayloadTooLarge
from motcua.web import JsonHttpHandler, with_security_headers

from gateway.rendering import error_page

CORRELATION_HEADER = "X-Correlation-ID"
# A caller's id goes into every log line: anything but a short token could forge log content.
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MISSING_TOKEN = "missing_token"
NO_STORE = {"Cache-Control": "no-store"}  # answers that name a person or an official's work: no shared cache


def text_setting(config: Mapping, name: str) -> str | None:
    """A value from the container config (how tests set it), else the environment."""
    return config.get(name) or env(name)


def setting(config: Mapping, name: str, default: float) -> float:
    return float(text_setting(config, name) or default)


class GatewayHttp(JsonHttpHandler):
    """`JsonHttpHandler` plus what the public front needs on every request.

    nameko takes no context from HTTP headers, so this entrypoint starts the worker with
    the caller's `X-Correlation-ID` (or a new one): WorkerContext, the logs and every RPC
    made by the worker then carry it, and the response echoes it. `html=True` marks a
    portal page, whose errors are a page rather than JSON; `bearer=True` a route for
    officials, whose 401s carry the Bearer challenge (RFC 6750).
    """

    def __init__(self, method: str, url: str, html: bool = False, bearer: bool = False, **kwargs):
        self.html = html
        self.bearer = bearer
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.max_body_bytes = int(setting(self.container.config, "GATEWAY_MAX_BODY_MB", 40) * 1024 * 1024)

    def handle_request(self, request: Request) -> Response:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        correlation_id = incoming if _CORRELATION_ID.match(incoming) else new_correlation_id()
        request.shallow = False
        try:
            # Werkzeug refuses a Content-Length over the limit and never reads past a Content-Length.
            request.max_content_length = self.max_body_bytes
            if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
                buffer_chunked_body(request.environ, self.max_body_bytes)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data={"correlation_id": correlation_id},
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer in the one shape
            response = self.response_from_exception(exc)
        response.headers[CORRELATION_HEADER] = correlation_id
        return with_security_headers(response)

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestEntityTooLarge):  # Werkzeug's, reading a body or form past the limits
            exc = body_too_large()
        response = error_page(exc) if self.html else super().response_from_exception(exc)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        if self.bearer and response.status_code == 401:
            response.headers["WWW-Authenticate"] = bearer_challenge(getattr(exc, "code", ""))
        return response


def bearer_challenge(code: str) -> str:
    # Any 401 here is about the token, the gateway's (expired, bad) or status's (revoked);
    # a request that sent none gets the bare challenge, as RFC 6750 section 3.1 asks.
    error = "" if code == MISSING_TOKEN else ', error="invalid_token"'
    return f'Bearer realm="motcua"{error}'


def body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge("The request body is too large.", {"body": ["Larger than this server accepts."]})


def buffer_chunked_body(environ: dict, limit: int) -> None:
    """A chunked body has no length to check up front: read it here, at most `limit` bytes.

    (Werkzeug reads an unlength'd stream as empty, or, given a maximum, truncates it silently.)
    """
    body = environ["wsgi.input"].read(limit + 1)  # eventlet's input de-chunks
    if len(body) > limit:
        raise body_too_large()
    environ.pop("HTTP_TRANSFER_ENCODING")
    environ.update({"wsgi.input": BytesIO(body), "CONTENT_LENGTH": str(len(body))})


def api(method: str, url: str, fallback: bool = False):
    return GatewayHttp.decorator(method, url, fallback=fallback)


def desk(method: str, url: str):
    """A JSON route for officials: their token is verified by the service method (`gateway.auth`)."""
    return GatewayHttp.decorator(method, url, bearer=True)


def page(method: str, url: str, fallback: bool = False):
    return GatewayHttp.decorator(method, url, html=True, fallback=fallback)
