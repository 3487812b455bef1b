"""Structured JSON logs carrying the dossier code and the correlation id.

The ids live in context variables: each nameko worker runs in its own greenlet, and
greenlets have their own context, so one worker's dossier never leaks into another's
log lines.
"""
import contextvars
import logging
import re
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
dossier_code_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("dossier_code", default=None)


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
def dossier_context(dossier_code: str | None):
    token = dossier_code_var.set(dossier_code)
    try:
        yield
    finally:
        dossier_code_var.reset(token)
