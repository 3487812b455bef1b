"""Helpers for service and end-to-end tests: a pinned clock, what services published, what they stored, and
a stand-in HTTP endpoint for the systems outside (a department's endpoint)."""
import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
import sqlalchemy as sa
from kombu import Connection
from kombu.utils import json as kombu_json

from sqlalchemy.orm import sessionmaker

from motcua.db import OUTBOX, UnitOfWork, make_engine
from motcua.envelope import make_envelope
from motcua.logs import ContextFilter, correlation_id_var
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import load_event_data


# "Now" for the services under test (status, catalog): Wednesday 25 November 2026, 10:00 in Hai Phong, an hour
# after the status tests' dossiers were submitted. What the tests date is counted from here, never from the
# real clock, so the suite gives the same answer on any day at any hour.
TEST_NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


class PinnedClock:
    """A service's clock in a test (`replace_dependencies(container, clock=PinnedClock(...))`): it stands still
    at a chosen instant until the test moves it, so the result does not depend on when the suite runs."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RunningClock(PinnedClock):
    """A clock that starts at a chosen instant and runs at the real pace: for timers, which need time to pass."""

    def __init__(self, start: datetime):
        super().__init__(start)
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._origin)


def take_messages(amqp_uri: str, queue_name: str, count: int, timeout: float = 10.0) -> list[dict]:
    """Up to `count` JSON bodies from `queue_name`, waiting at most `timeout` seconds for them."""
    messages, deadline = [], time.monotonic() + timeout
    with Connection(amqp_uri) as conn:
        while len(messages) < count and time.monotonic() < deadline:
            message = conn.default_channel.basic_get(queue=queue_name, no_ack=True)
            if message is None:
                eventlet.sleep(0.1)
            else:
                messages.append(json.loads(message.body))
    return messages


def query_rows(url: str, statement) -> list[sa.RowMapping]:
    """Rows of a statement run on a service's own database, outside the service."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(statement).mappings().all()
    engine.dispose()
    return rows


def wait_for(check, seconds: float = 20.0, interval: float = 0.2):
    """Call `check` until it returns something true or `seconds` pass; its last result either way."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


@contextmanager
def json_endpoint(respond: Callable[[str, dict, object], tuple[int, object]]) -> Iterator[str]:
    """A local HTTP server on a free port answering each POST with `respond(path, headers, JSON body)`,
    which returns (status, JSON-able answer or None for an empty body); yields its base URL."""
    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, answer = respond(self.path, dict(self.headers), body)
            payload = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def log_records(logger: str = "", with_context: bool = True) -> Iterator[list[logging.LogRecord]]:
    """The records `logger` (and its children) emit in the block, at INFO and above; `with_context` gives each
    the ids a service's log line carries (motcua.logs.ContextFilter: `correlation_id`, `dossier_code`), read
    where the line is logged, as in a service. The adapter's lines carry theirs as `extra`: without."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(copy.copy(record))  # as it was here: a handler further up may still change it

    handler, target = Keep(logging.INFO), logging.getLogger(logger)
    if with_context:
        handler.addFilter(ContextFilter())
    level = target.level
    target.setLevel(logging.INFO)
    target.addHandler(handler)
    try:
        yield records
    finally:
        target.removeHandler(handler)
        target.setLevel(level)


class LocalDatabase:
    """A service's database without nameko: `unit_of_work()` as its Database dependency gives one, for the
    use cases (`<service>.handlers`) in unit tests, on SQLite in milliseconds (`create=True` makes the tables)."""

    def __init__(self, url: str, metadata: sa.MetaData, producer: str, create: bool = False):
        self.engine = make_engine(url)
        if create:
            metadata.create_all(self.engine)
        self.metadata, self.producer = metadata, producer
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def unit_of_work(self) -> UnitOfWork:
        # As the service's: events go under the id the log lines carry (motcua.logs.correlation_context).
        return UnitOfWork(self.sessions, self.metadata, self.producer, correlation_id_var.get())

    def published(self) -> list[tuple[str, dict]]:
        """(routing key, body) of every message the use cases left in the outbox, in order."""
        table = self.metadata.tables[OUTBOX]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.routing_key, table.c.body).order_by(table.c.seq)).all()
        return [(key, json.loads(body)) for key, body in rows]


def as_received(producer: str, event_type: str, data: dict) -> dict:
    """An event as its handler receives it: enveloped, sent as JSON and loaded by its contract, as the
    service's consumer does (motcua.messaging), for calling a use case directly."""
    sent = json.loads(kombu_json.dumps(make_envelope(event_type, producer=producer, data=data,
                                                     dossier_code=data.get("dossier_code"))))
    envelope = EnvelopeSchema().load(sent)
    envelope["data"] = load_event_data(producer, event_type, envelope["data"], envelope["schema_version"])
    return envelope


def dossier_submitted(**fields) -> dict:
    """intake's `dossier_submitted` data as published (DossierSubmittedSchema, dumped): an online birth
    registration at 000.00.00.H49 filed on 25/11/2026, changed by `fields`. The one builder of this payload."""
    return {
        "dossier_code": "000.00.00.H49-261125-0001", "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh", "procedure_version": 1, "agency_code": "000.00.00.H49",
        "channel": "online", "return_method": "counter",
        "submitted_at": datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc), "appointment_date": date(2026, 11, 27),
        "time_limit_working_days": "2", "cutoff_hour": "15:00", "tracking_key_hash": "a" * 64,
        "applicant": {"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": None},
        "form": {}, "attachments": [], "fees_vnd": None, **fields,
    }
