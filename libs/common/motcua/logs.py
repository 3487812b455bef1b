"""Structured JSON logs carrying the dossier code and the correlation id.

The ids live in context variables: each nameko worker runs in its own greenlet, and
greenlets have their own context, so one worker's dossier never leaks into another's
log lines. A greenlet a worker spawns starts with an empty context: whatever it does for
the worker (notify's sends) sets the id again with `correlation_context`.

The correlation id is the request's, end to end (docs/metrics.md, "Tracing"): the gateway takes the
caller's `X-Correlation-ID`, RPC carries it in nameko's headers, every envelope in its
`correlation_id`, a notification row in its own column, and each consumer restores it
(motcua.messaging) before it logs a line or writes an event.
"""
import contextvars
import logging
import re
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
dossier_code_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("dossier_code", default=None)


# An id from outside (an HTTP header, a department's command) goes into every log line and every event:
# only a short token, never text that could forge log content or bloat a column.
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def valid_correlation_id(value: object) -> str | None:
    """`value` if it may serve as a correlation id, else None."""
    return value if isinstance(value, str) and CORRELATION_ID.fullmatch(value) else None


# A tracking key in a link's query (the receipt's, the QR code's) opens a dossier: the access log must not keep it.
SECRET_IN_QUERY = re.compile(r"([?&](?:key|tracking_key)=)[^&\s\"]+")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id_var.get()
        record.dossier_code = dossier_code_var.get()
        message = record.getMessage()
        if "key=" in message:
            record.msg, record.args = SECRET_IN_QUERY.sub(r"\1[redacted]", message), None
        if isinstance(record.msg, str) and record.msg.startswith("(expected) error"):
            # nameko logs a refusal we raised on purpose (a 404, a 422) with its traceback: the message says it all.
            record.exc_info = None
        return True


def json_formatter(service: str) -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(dossier_code)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
    )


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter(service))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextmanager
def correlation_context(correlation_id: str | None):
    """Log lines, and events written (motcua.dependencies.DatabaseAccess), under `correlation_id` in this block."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)


@contextmanager
def dossier_context(dossier_code: str | None):
    token = dossier_code_var.set(dossier_code)
    try:
        yield
    finally:
        dossier_code_var.reset(token)
