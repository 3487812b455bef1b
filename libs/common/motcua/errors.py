"""One error contract for HTTP and RPC.

Every refusal a client can act on is a `MotCuaError` carrying a stable code, a message
for people and field-level messages. Plain Python, so domain code raises these too;
`motcua.dependencies` registers every subclass with nameko so that an error raised
behind RPC arrives at the gateway as the same type, not a RemoteError, and maps to one
HTTP status.
"""
import json
from collections.abc import Iterator
from contextlib import contextmanager


class MotCuaError(Exception):
    http_status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict | str | None = None, code: str | None = None):
        if isinstance(fields, str):
            fields = json.loads(fields)  # arrived over RPC
        # nameko turns every non-string argument into its str() on the wire: JSON keeps 2 a number and None null.
        super().__init__(message, json.dumps(fields or {}, ensure_ascii=False, default=str), code or self.code)
        self.message = message
        self.fields = fields or {}
        self.code = code or self.code

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" {self.fields}" if self.fields else "")


class ValidationFailed(MotCuaError):
    http_status = 422
    code = "validation_failed"


class MalformedInput(MotCuaError):
    http_status = 400
    code = "malformed_input"


class NotFound(MotCuaError):
    http_status = 404
    code = "not_found"


class Conflict(MotCuaError):
    http_status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class Unauthorized(MotCuaError):
    http_status = 401
    code = "unauthorized"


class Forbidden(MotCuaError):
    http_status = 403
    code = "forbidden"


class MethodNotAllowed(MotCuaError):
    http_status = 405
    code = "method_not_allowed"


class PayloadTooLarge(MotCuaError):
    http_status = 413
    code = "payload_too_large"


class UnsupportedMediaType(MotCuaError):
    http_status = 415
    code = "unsupported_media_type"


class RateLimited(MotCuaError):
    http_status = 429
    code = "rate_limited"


class ServiceUnavailable(MotCuaError):
    http_status = 503
    code = "service_unavailable"


class PermanentFailure(Exception):
    """A message that can never be processed (wrong shape, unknown reference): no retry."""


class NotYet(Exception):
    """What a message needs has not arrived yet (two producers' events come in no set order): the message is
    retried after its delay, and logged as the expected wait it is, a warning, not an error."""


def marshmallow_fields(messages) -> dict:
    """Flatten marshmallow's nested messages into {"a.b.0.c": ["msg", ...]}."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    walk("", messages)
    return flat


def all_error_classes() -> list[type[MotCuaError]]:
    found, pending = [], [MotCuaError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@contextmanager
def refusals_counted(counter) -> Iterator[None]:
    """Count each refusal (a MotCuaError) by its code on a prometheus Counter labelled by reason, and let it go on."""
    try:
        yield
    except MotCuaError as exc:
        counter.labels(exc.code).inc()
        raise
