"""One correlation id per request, kept at every hop that has no broker of its own to carry it (issue 14):
which id a consumer restores from a message, which id a unit of work writes its events under, RPC's line in
the caller, notify's sender (a timer whose sends run in greenlets of their own), postal's order to the
carrier and the department adapter's lines and HTTP calls. What crosses the broker is in
tests/service/test_correlation.py, the whole journey in tests/e2e/test_correlation.py."""
import contextvars
import json
import uuid
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace

import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from department_adapter.adapter import Adapter
from department_adapter.config import Config
from department_adapter.handlers.folder import FolderHandler
from department_adapter.handlers.http import HttpHandler
from motcua.db import make_engine, service_metadata
from motcua.dependencies import DatabaseAccess, WorkerContext
from motcua.errors import NotFound
from motcua.logs import correlation_context, correlation_id_var, valid_correlation_id
from motcua.messaging import incoming_correlation_id
from motcua.rpc import TimedServiceProxy
from notify import handlers as notify_handlers
from notify.models import metadata as notify_metadata
from notify.models import notification
from notify.providers.base import ProviderResult
from notify.sending import Outbound
from notify.sending import Settings as SendingSettings
from notify.settings import NotifySettings
from postal.carrier import HttpCarrier
from tests.support import LocalDatabase, PinnedClock, as_received, dossier_submitted, json_endpoint, log_records
from tests.unit.test_department_adapter import AGENCY, outcome, work_item
from tests.unit.test_postal_carrier import ACCEPTED, ORDER, StubCarrier

DAYTIME = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong: no quiet hours
CODE = "000.00.00.H49-261125-0001"


# --- which id ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["req-42", "c" * 32, str(uuid.uuid4()), "A.b_c:d-1", "x" * 64])
def test_a_short_token_is_a_correlation_id(value):
    assert valid_correlation_id(value) == value


@pytest.mark.parametrize("value", [None, "", "x" * 65, "two words", "line\nbreak", "trailing\n", '{"forged": 1}',
                                   42, ["req-42"]])
def test_anything_else_is_not(value):
    assert valid_correlation_id(value) is None


def test_a_block_runs_under_its_id_and_gives_the_previous_back():
    def run():
        with correlation_context("outer"):
            with correlation_context("inner"):
                assert correlation_id_var.get() == "inner"
            assert correlation_id_var.get() == "outer"
        return correlation_id_var.get()

    assert contextvars.Context().run(run) is None


def message(headers=None, **properties):
    return SimpleNamespace(headers=headers or {}, properties=properties)


def test_a_consumer_takes_the_envelopes_id_first_then_namekos_header_then_the_amqp_property():
    header = {"nameko.correlation_id": "from-header"}
    assert incoming_correlation_id({"correlation_id": "from-envelope"}, message(header, correlation_id="p")) == (
        "from-envelope")
    assert incoming_correlation_id({"correlation_id": "no good\n"}, message(header, correlation_id="p")) == (
        "from-header")
    assert incoming_correlation_id({}, message({"nameko.correlation_id": "x" * 500}, correlation_id="prop-1")) == (
        "prop-1")
    assert incoming_correlation_id(None, message()) is None  # the worker then starts a new one


class Ctx:
    """A nameko worker context as WorkerContext sees it (weak-referenceable, like the real one)."""

    def __init__(self, data):
        self.data = data


@pytest.mark.parametrize("given, kept", [("req-42", True), ("bad id", False), (None, False), ("y" * 65, False)])
def test_a_worker_runs_under_a_valid_id_it_was_given_or_a_new_one(given, kept):
    worker = Ctx({"correlation_id": given})

    def setup():
        WorkerContext().worker_setup(worker)
        return correlation_id_var.get()

    in_logs = contextvars.Context().run(setup)
    assert in_logs == worker.data["correlation_id"] and valid_correlation_id(in_logs)
    assert (in_logs == given) is kept


# --- the unit of work: events under the id the lines carry -------------------------------------------------------

@pytest.fixture
def access(tmp_path):
    """A worker's DatabaseAccess, its worker's data as nameko injects it: before WorkerContext set the id."""
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    provider = SimpleNamespace(session_factory=sessionmaker(bind=engine), metadata=service_metadata(), engine=engine,
                               container=SimpleNamespace(service_name="intake"), _signal=lambda: None)
    data: dict = {}
    return DatabaseAccess(provider, data), data


def test_a_unit_of_work_writes_under_the_workers_id_set_after_injection_or_the_one_a_block_restored(access):
    db, data = access

    def run():
        data["correlation_id"] = "timer-run-1"  # WorkerContext.worker_setup, after the injection
        assert db.unit_of_work().correlation_id == "timer-run-1"
        with correlation_context("row-7"):
            assert db.unit_of_work().correlation_id == "row-7"
        # A greenlet the worker spawns starts with no context: the worker's id, never a made-up one.
        return eventlet.spawn(lambda: db.unit_of_work().correlation_id).wait()

    assert contextvars.Context().run(run) == "timer-run-1"


# --- RPC: the hop, in the caller's log under the caller's id ----------------------------------------------------

class Callee:
    def submit_dossier(self, submission):
        return {"dossier_code": CODE}

    def get_receipt(self, code, key):
        raise NotFound("No dossier matches this code and tracking key.")

    def slow(self):
        eventlet.sleep(5)


def test_every_rpc_call_is_a_line_of_the_caller_with_its_outcome():
    proxy = TimedServiceProxy(Callee(), "intake", "The intake service", timeout=0.2)
    with log_records("motcua.rpc") as records, correlation_context("req-rpc-1"):
        assert proxy.submit_dossier({}) == {"dossier_code": CODE}
        with pytest.raises(NotFound):
            proxy.get_receipt(CODE, "k")
        with pytest.raises(Exception, match="did not answer in time"):
            proxy.slow()
    lines = [(r.getMessage().split(" in ")[0].split(", no")[0], r.levelname, r.correlation_id) for r in records]
    assert lines == [("rpc intake.submit_dossier: ok", "INFO", "req-rpc-1"),
                     ("rpc intake.get_receipt: not_found", "INFO", "req-rpc-1"),
                     ("rpc intake.slow: unavailable", "WARNING", "req-rpc-1")]


# --- notify: the row keeps the event's id, the sender restores it -----------------------------------------------

@pytest.fixture
def notify_db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/notify.db", notify_metadata, "notify", create=True)


def queue_filing_notice(db, correlation_id):
    """intake's dossier_submitted for an online dossier (its filing notice, by e-mail) under `correlation_id`."""
    envelope = as_received("intake", "dossier_submitted", dossier_submitted(
        dossier_code=CODE, applicant={"full_name": "Nguyễn Văn An", "phone": None, "email": "an@example.vn"}))
    envelope["correlation_id"] = correlation_id
    notify_handlers.record_recipient(db, PinnedClock(DAYTIME), NotifySettings(), SendingSettings.from_env(),
                                     lambda code: "UBND tỉnh", envelope)


def stored_ids(db):
    with db.engine.connect() as conn:
        return conn.execute(sa.select(notification.c.correlation_id)).scalars().all()


def test_a_notification_keeps_the_id_of_the_event_that_queued_it(notify_db):
    queue_filing_notice(notify_db, "req-filed-1")
    assert stored_ids(notify_db) == ["req-filed-1"]


def test_an_event_with_no_valid_id_queues_under_the_workers(tmp_path):
    db = LocalDatabase(f"sqlite:///{tmp_path}/other.db", notify_metadata, "notify", create=True)
    with correlation_context("worker-9"):
        queue_filing_notice(db, "not a token")
    assert stored_ids(db) == ["worker-9"]


class Refusing:
    """A provider that is down: every send a transient failure."""

    def send(self, message):
        return ProviderResult.transient("SMTP 421 try later")


def sender(provider, max_attempts=1):
    outbound = Outbound()
    outbound.settings = SendingSettings(max_attempts=max_attempts, retry_base_seconds=30,
                                        max_retry=timedelta(hours=24), quiet_start=time(21), quiet_end=time(7),
                                        ascii_sms=False, lease=timedelta(minutes=2), concurrency=2)
    outbound.providers = {"email": provider}
    outbound.pools = {"email": eventlet.GreenPool(2)}
    return outbound


def test_the_sender_logs_a_send_and_writes_its_failure_under_the_id_of_the_request(notify_db):
    queue_filing_notice(notify_db, "req-filed-2")
    outbound = sender(Refusing())

    def timer_tick():  # notify's send_due, its worker's id made by WorkerContext
        with correlation_context("timer-tick-1"):
            outbound.dispatch(notify_db, PinnedClock(DAYTIME))
            outbound.pools["email"].waitall()  # the sends ran in greenlets of their own

    with log_records("notify.sending") as records:
        contextvars.Context().run(timer_tick)
    [line] = [r for r in records if "template filed_online" in r.getMessage()]
    assert line.getMessage().endswith(": failed: SMTP 421 try later")
    assert (line.correlation_id, line.dossier_code) == ("req-filed-2", CODE)
    [(routing_key, event)] = [(key, body) for key, body in notify_db.published() if key == "notification_failed"]
    assert event["correlation_id"] == "req-filed-2"


def test_a_row_queued_before_ids_were_kept_is_sent_under_the_timers_run(notify_db):
    queue_filing_notice(notify_db, "req-old")
    with notify_db.engine.begin() as conn:  # as the rows queued before the migration are
        conn.execute(notification.update().values(correlation_id=None))
    outbound = sender(Refusing(), max_attempts=5)

    def timer_tick():
        with correlation_context("timer-tick-2"):
            outbound.dispatch(notify_db, PinnedClock(DAYTIME))
            outbound.pools["email"].waitall()

    with log_records("notify.sending") as records:
        contextvars.Context().run(timer_tick)
    assert [r.correlation_id for r in records if "template filed_online" in r.getMessage()] == ["timer-tick-2"]


# --- postal's order to the carrier -------------------------------------------------------------------------------

def test_an_order_to_the_carrier_carries_the_requests_id():
    stub = StubCarrier()
    try:
        stub.answers += [(201, ACCEPTED), (201, ACCEPTED)]
        carrier = HttpCarrier(stub.url, "secret-key")
        with correlation_context("req-pickup-1"):
            carrier.place_order(ORDER)
        with correlation_context(None):
            carrier.place_order(ORDER)  # an operator's script, say: no id to pass on
    finally:
        stub.close()
    assert [headers.get("X-Correlation-ID") for _, headers, _ in stub.received] == ["req-pickup-1", None]


# --- the department adapter ---------------------------------------------------------------------------------------

def test_the_http_handler_passes_the_messages_id_to_the_departments_endpoint():
    seen = []

    def respond(path, headers, body):
        seen.append((path, headers.get("X-Correlation-ID")))
        return 202, None

    item, answer = work_item(), outcome()
    with json_endpoint(respond) as url:
        handler = HttpHandler(url + "/motcua", timeout=5)
        handler.handle(item)
        handler.on_outcome(answer)
    assert seen == [("/motcua", item["correlation_id"]), ("/motcua/outcomes", answer["correlation_id"])]


class Channel:
    def __init__(self):
        self.rejected, self.acked = [], []

    def basic_reject(self, tag, requeue):
        self.rejected.append(tag)

    def basic_ack(self, tag):
        self.acked.append(tag)


def test_the_adapters_lines_about_a_message_carry_its_correlation_id(tmp_path):
    config = Config.from_env({"DEPARTMENT_AMQP_URI": "amqp://u:p@rabbit/", "DEPARTMENT_AGENCY_CODE": AGENCY,
                              "DEPARTMENT_INBOX_DIR": str(tmp_path / "in"),
                              "DEPARTMENT_DECISIONS_DIR": str(tmp_path / "out")})
    adapter = Adapter(config, FolderHandler(config.inbox_dir, config.decisions_dir, config.outcomes_dir))
    adapter._channel = Channel()
    item, answer = work_item(), outcome()
    off_contract = dict(work_item(), correlation_id="req-off-1", colour="red")
    with log_records("department_adapter", with_context=False) as records:
        for tag, body in enumerate((item, answer, off_contract), start=1):
            adapter._receive(SimpleNamespace(delivery_tag=tag, routing_key=f"{AGENCY}.x", redelivered=False),
                             json.dumps(body).encode())
    lines = {r.getMessage(): r.correlation_id for r in records}
    assert lines == {"work item received": item["correlation_id"],
                     "command outcome handed over": answer["correlation_id"],
                     "malformed message rejected": "req-off-1"}
