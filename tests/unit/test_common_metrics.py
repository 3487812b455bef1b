"""The metrics every service shares, without a broker: the outcome an entrypoint call is counted under, and the
outbox relay's measure of its backlog (motcua_outbox_pending, motcua_outbox_oldest_pending_seconds)."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from motcua.db import OUTBOX, add_messaging_tables, make_engine
from motcua.dependencies import entrypoint_outcome
from motcua.errors import Conflict, NotFound, PermanentFailure, RateLimited, ServiceUnavailable, ValidationFailed
from motcua.outbox import OutboxRelay
from tests.support import PinnedClock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("result", "exc", "outcome"), [
    ({"dossier_code": "000.00.00.H49-261125-0001"}, None, "ok"),  # an RPC's answer
    (None, None, "ok"),  # an event handled, a timer's run
    (Response("{}", status=201), None, "ok"),
    (None, NotFound("No dossier."), "refused"),
    (None, ValidationFailed("Bad fields.", {"code": ["Missing."]}), "refused"),
    (None, Conflict("Changed meanwhile."), "refused"),
    (None, RateLimited("Too many lookups."), "refused"),
    (None, ValidationError({"code": ["Missing."]}), "refused"),  # answered 422 by the one error contract
    (None, RequestEntityTooLarge(), "refused"),  # a form past the body limit
    (Response("<p>Không tìm thấy</p>", status=404), None, "refused"),  # a portal page's own not-found page
    (None, ServiceUnavailable("The catalogue did not answer in time."), "error"),
    (None, RuntimeError("bug"), "error"),
    (None, PermanentFailure("off-contract event"), "error"),
    (Response("{}", status=503), None, "error"),  # /readyz without its database
])
def test_an_entrypoint_call_is_ok_refused_for_the_callers_fault_or_an_error_of_ours(result, exc, outcome):
    assert entrypoint_outcome(result, exc) == outcome


def stage(engine, table, created_at, published_at=None):
    with engine.begin() as conn:
        conn.execute(table.insert().values(
            event_id=f"event-{created_at.timestamp()}", exchange="status.events", routing_key="dossier_received",
            body=json.dumps({}), headers=json.dumps({}), created_at=created_at, published_at=published_at))


def test_the_relay_measures_how_many_events_wait_and_how_long_the_oldest_has(tmp_path):
    metadata = sa.MetaData()
    add_messaging_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    metadata.create_all(engine)
    outbox = metadata.tables[OUTBOX]
    clock = PinnedClock(NOW)
    relay = OutboxRelay(engine, metadata, "amqp://guest:guest@127.0.0.1:5672//", clock=clock)
    assert relay.backlog() == (0, 0.0)

    stage(engine, outbox, NOW - timedelta(minutes=10), published_at=NOW - timedelta(minutes=9))  # gone out
    stage(engine, outbox, NOW - timedelta(seconds=90))
    stage(engine, outbox, NOW - timedelta(seconds=5))
    assert relay.backlog() == (2, 90.0)
    clock.advance(30)
    assert relay.backlog() == (2, 120.0)
    engine.dispose()
