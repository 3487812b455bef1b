"""The officials' desk of status against the real RabbitMQ and PostgreSQL: the work list with its
permission filter in SQL, the dossier detail, actions with permissions, idempotency and optimistic
locking, revoked tokens, and the citizen's supplement resuming the clock."""
import base64
import hashlib
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy.orm import Session

from motcua.calendar import local_date
from motcua.db import make_engine
from motcua.envelope import make_envelope
from motcua.errors import (
    Conflict, Forbidden, IllegalTransition, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
)
from motcua.storage import attachment_store
from status import repository
from status.domain import Actor, Command, register
from status.models import apology, dossier, dossier_history, metadata
from tests.conftest import truncate_all
from tests.service.conftest import start_status
from tests.support import TEST_NOW
from tests.unit.test_status_lifecycle import VN, submitted_data

AGENCY_A, AGENCY_B, AGENCY_C = "000.00.00.H49", "000.00.12.H49", "000.00.13.H49"
outbox = metadata.tables["outbox_message"]
ROUTE = [{"agency": AGENCY_A, "role": "receptionist", "working_days": "1"},
         {"agency": AGENCY_B, "role": "handler", "working_days": "2"}]
PDF = b"%PDF-1.4 quyet dinh cap giay khai sinh"


@pytest.fixture(scope="module")
def database_url(postgres_database):
    return postgres_database("status")


@pytest.fixture
def config(rabbit_config, web_config, database_url, tmp_path, monkeypatch):
    truncate_all(database_url)
    monkeypatch.setenv("STATUS_ATTACHMENTS_DIR", str(tmp_path / "results"))
    return {**rabbit_config, **web_config, "DATABASE_URL": database_url}


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def official(agency=AGENCY_A, *roles, token_id=None, expires_in=timedelta(hours=1)):
    return {"subject": f"can-bo-{'-'.join(roles)}@{agency}", "agency_code": agency, "roles": list(roles),
            "token_id": token_id or uuid.uuid4().hex,
            "expires_at": (TEST_NOW + expires_in).isoformat()}


def today():
    return local_date(TEST_NOW)


def seed(engine, number, agency=AGENCY_A, holder=None, state="received", channel="counter", due=10, legal=None,
         **fields):
    """A dossier written straight to the database: `due` and `legal` are days from today."""
    data = submitted_data(channel, dossier_code=f"{agency}-261125-{number:04d}", agency_code=agency)
    seeded_dossier, changes = register(data, f"seed-{number}")
    seeded_dossier.state, seeded_dossier.appointment_date = state, today() + timedelta(days=due)
    seeded_dossier.legal_due_date = today() + timedelta(days=due if legal is None else legal)
    for name, value in fields.items():
        setattr(seeded_dossier, name, value)
    with Session(engine) as session:
        repository.add(session, seeded_dossier)
        for change in changes:
            repository.add_history(session, seeded_dossier.code, change.entry)
        if holder:  # as a transfer leaves it: held by `holder` now, by `agency` before
            seeded_dossier.holder_agency_code = holder
            repository.update(session, seeded_dossier, seeded_dossier.version)
        session.commit()
    return seeded_dossier.code


def rows(engine, statement):
    with engine.connect() as conn:
        return conn.execute(statement).mappings().all()


def staged_events(engine):
    """The events staged for status.events (work items for departments are staged beside them)."""
    return [r["routing_key"] for r in rows(engine, sa.select(outbox).where(outbox.c.exchange == "status.events")
                                           .order_by(outbox.c.seq))]


def history(engine, code):
    return rows(engine, sa.select(dossier_history).where(dossier_history.c.dossier_code == code)
                .order_by(dossier_history.c.seq))


def dossier_row(engine, code):
    [row] = rows(engine, sa.select(dossier).where(dossier.c.code == code))
    return row


def codes(page):
    return [item["dossier_code"] for item in page["items"]]


def publish(status, source_event, handler, envelope):
    with entrypoint_waiter(status, handler, timeout=10), Connection(status.config["AMQP_URI"]) as conn:
        exchange = Exchange("intake.events", type="topic", durable=True)
        conn.Producer().publish(envelope, exchange=exchange, routing_key=source_event, serializer="json",
                                delivery_mode=2, declare=[exchange])


def submit_online(status):
    code = f"{AGENCY_A}-261125-0001"
    data = submitted_data("online", dossier_code=code, agency_code=AGENCY_A, workflow=ROUTE)
    publish(status, "dossier_submitted", "on_dossier_submitted",
            make_envelope("dossier_submitted", producer="intake", data=data, dossier_code=code))
    return code


def supplement_envelope(code, submitted_at):
    data = {"dossier_code": code, "supplement_id": "sup-1", "agency_code": AGENCY_A, "submitted_at": submitted_at,
            "note": "Bản sao giấy chứng sinh", "attachments": [{
                "attachment_id": "att-1", "document_code": "GCS", "filename": "giay-chung-sinh.pdf",
                "content_type": "application/pdf", "size_bytes": 10, "sha256": "e" * 64}]}
    return make_envelope("supplement_submitted", producer="intake", data=data, dossier_code=code)


def test_the_desk_lists_what_the_agency_holds_or_has_held_filtered_sorted_and_paged(rpc, engine):
    late = seed(engine, 1, state="in_progress", due=5, legal=-2, assignee="can-bo-7")  # apologised: new date later
    soon = seed(engine, 2, state="received", due=0, procedure_code="2.000001")
    paused = seed(engine, 3, state="awaiting_supplement", due=20, channel="postal")
    done = seed(engine, 4, state="completed", due=-30, legal=-30)
    moved = seed(engine, 5, holder=AGENCY_B, state="in_progress", due=7)  # transferred to B: A held it before
    seed(engine, 6, agency=AGENCY_B, state="in_progress", due=1)  # B's alone
    seed(engine, 7, agency=AGENCY_C, state="received", due=2)  # C's alone
    receptionist = official(AGENCY_A, "receptionist")

    page = rpc.desk_list(receptionist, {})
    assert codes(page) == [done, soon, late, moved, paused]  # by appointment date, then code
    assert (page["total"], page["page"], page["per_page"]) == (5, 1, 50)
    items = {item["dossier_code"]: item for item in page["items"]}
    assert (items[late]["warning"], items[late]["overdue"]) == ("overdue", True)
    assert (items[soon]["warning"], items[soon]["overdue"]) == ("due_soon", False)
    assert items[paused]["warning"] is None and items[done]["warning"] is None
    assert items[moved]["holder_agency_code"] == AGENCY_B and items[late]["national_status_code"] == 4

    second = rpc.desk_list(receptionist, {"page": 2, "per_page": 2})
    assert codes(second) == [late, moved] and second["total"] == 5
    assert codes(rpc.desk_list(receptionist, {"state": ["in_progress", "received"]})) == [soon, late, moved]
    assert codes(rpc.desk_list(receptionist, {"procedure": "2.000001"})) == [soon]
    assert codes(rpc.desk_list(receptionist, {"assignee": "can-bo-7"})) == [late]
    assert codes(rpc.desk_list(receptionist, {"due_before": (today() + timedelta(days=5)).isoformat()})) == [
        done, soon, late]
    assert codes(rpc.desk_list(receptionist, {"overdue": True})) == [late]
    assert codes(rpc.desk_list(receptionist, {"overdue": False})) == [done, soon, moved, paused]
    assert codes(rpc.desk_list(receptionist, {"channel": "postal"})) == [paused]

    assert len(codes(rpc.desk_list(official(AGENCY_B, "handler"), {}))) == 2  # B's own and the one it holds now
    assert rpc.desk_list(official(AGENCY_C, "city_admin"), {})["total"] == 7  # a city admin sees every dossier
    with pytest.raises(ValidationFailed) as invalid:
        rpc.desk_list(receptionist, {"per_page": 0, "state": ["lost"], "sort": "code"})
    assert {"per_page", "state.0", "sort"} <= set(invalid.value.fields)
    with pytest.raises(ValidationFailed) as no_roles:
        rpc.desk_list({**receptionist, "roles": []}, {})
    assert "official.roles" in no_roles.value.fields


def test_by_default_a_date_thirty_working_days_away_is_no_warning(rpc, engine):
    code = seed(engine, 1, state="in_progress", due=30)
    [item] = rpc.desk_list(official(AGENCY_A, "handler"), {})["items"]
    assert (item["dossier_code"], item["warning"]) == (code, None)


def test_the_warning_window_comes_from_the_environment_read_at_start_up(
        container_factory, config, status_clock, engine, monkeypatch):
    code = seed(engine, 1, state="in_progress", due=30)
    monkeypatch.setenv("STATUS_WARN_WORKING_DAYS", "40")
    start_status(container_factory, config, status_clock)
    with ServiceRpcProxy("status", config, timeout=15) as proxy:
        [item] = proxy.desk_list(official(AGENCY_A, "handler"), {})["items"]
    assert (item["dossier_code"], item["warning"]) == (code, "due_soon")


def test_the_detail_shows_the_whole_history_apologies_and_paused_days_to_those_who_may_see(status, rpc, engine):
    code = submit_online(status)
    receptionist = official(AGENCY_A, "receptionist")
    rpc.desk_action(receptionist, code, {"action": "accept"}, "accept-0001")
    rpc.desk_action(official(AGENCY_A, "handler"), code, {"action": "transfer", "to_agency_code": AGENCY_B,
                                                   "reason": "Chuyển Sở Tư pháp thẩm định"}, "transfer-0001")
    with engine.begin() as conn:
        conn.execute(apology.insert().values(
            dossier_code=code, agency_code=AGENCY_B, issued_at=TEST_NOW, reason="Quá hạn do thẩm định",
            original_appointment_date=date(2026, 11, 30), new_appointment_date=date(2026, 12, 3)))

    detail = rpc.desk_get(receptionist, code)  # A held it before: may see it
    assert (detail["dossier_code"], detail["state"], detail["holder_agency_code"]) == (code, "in_progress", AGENCY_B)
    assert (detail["step"], detail["step_role"]) == (1, "handler") and detail["paused_working_days"] == 0
    assert detail["available_actions"] == []  # A no longer holds it
    assert rpc.desk_get(official(AGENCY_B, "handler"), code)["available_actions"] == [
        "assign", "transfer", "request_supplement", "request_payment"]
    assert [(h["action"], h["actor"]["kind"], h["actor"]["id"]) for h in detail["history"]] == [
        ("register", "system", None), ("accept", "official", receptionist["subject"]),
        ("transfer", "official", f"can-bo-handler@{AGENCY_A}")]
    assert detail["history"][2]["details"] == {"from_agency_code": AGENCY_A, "to_agency_code": AGENCY_B,
                                               "route": "template", "step": 1}
    [sorry] = detail["apologies"]
    assert (sorry["template"], sorry["new_appointment_date"]) == ("circular-01-2018-vpcp/template-04", "2026-12-03")
    assert rpc.desk_get(official(AGENCY_C, "city_admin"), code)["dossier_code"] == code

    with pytest.raises(NotFound) as never_held:
        rpc.desk_get(official(AGENCY_C, "approver"), code)
    with pytest.raises(NotFound) as unknown:
        rpc.desk_get(official(AGENCY_C, "approver"), f"{AGENCY_A}-261125-9999")
    assert never_held.value.message.replace(code, "?") == unknown.value.message.replace(f"{AGENCY_A}-261125-9999", "?")


def test_a_result_document_over_the_limit_read_at_start_up_is_refused(
        container_factory, config, status_clock, monkeypatch):
    monkeypatch.setenv("STATUS_RESULT_MAX_BYTES", str(len(PDF) - 1))
    start_status(container_factory, config, status_clock)
    with ServiceRpcProxy("status", config, timeout=15) as proxy, pytest.raises(PayloadTooLarge):
        proxy.desk_action(official(AGENCY_B, "approver"), f"{AGENCY_B}-261125-0001", {
            "action": "complete", "result_document": {
                "filename": "qd.pdf", "content_base64": base64.b64encode(PDF).decode()}}, "complete-0004")


def test_a_dossier_goes_from_acceptance_through_a_transfer_to_completion_with_its_result_document(
        status, rpc, engine):
    code = submit_online(status)
    accepted = rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "accept"}, "accept-0001")
    assert (accepted["state"], accepted["version"]) == ("received", 2)
    row = dossier_row(engine, code)
    assert (row["step_index"], row["step_role"]) == (0, "receptionist")
    assert row["legal_due_date"] == row["appointment_date"] == date.fromisoformat(accepted["appointment_date"])
    complete = {"action": "complete", "result_document": {"filename": "quyet-dinh.pdf",
                                                          "content_base64": base64.b64encode(PDF).decode()}}
    with pytest.raises(IllegalTransition):  # not in progress yet: refused, and the document is not stored
        rpc.desk_action(official(AGENCY_A, "approver"), code, complete, "complete-0000")
    assert not list(attachment_store("status").root.rglob("*"))

    transfer = {"action": "transfer", "to_agency_code": AGENCY_B, "reason": "Chuyển Sở Tư pháp"}
    moved = rpc.desk_action(official(AGENCY_A, "handler"), code, transfer, "transfer-0001")
    # a retry: same answer
    assert rpc.desk_action(official(AGENCY_A, "handler"), code, transfer, "transfer-0001") == moved
    assert dossier_row(engine, code)["step_index"] == 1

    # A held it before: it sees it but acts no more; B's handler may not complete; C never held it.
    with pytest.raises(Forbidden, match="may view it but not"):
        rpc.desk_action(official(AGENCY_A, "handler"), code, {"action": "transfer", "to_agency_code": AGENCY_C},
                        "again-0001")
    with pytest.raises(Forbidden, match=r"handler.*complete"):
        rpc.desk_action(official(AGENCY_B, "handler"), code, {"action": "complete"}, "complete-0001")
    with pytest.raises(NotFound):
        rpc.desk_action(official(AGENCY_C, "approver"), code, {"action": "stop", "reason": "x"}, "stop-0001")
    with pytest.raises(ValidationFailed) as no_document:
        rpc.desk_action(official(AGENCY_B, "approver"), code, {"action": "complete"}, "complete-0002")
    assert "result_document" in no_document.value.fields
    with pytest.raises(ValidationFailed) as bad_base64:
        rpc.desk_action(official(AGENCY_B, "approver"), code, {"action": "complete", "result_document": {
            "filename": "qd.pdf", "content_base64": "not base64!"}}, "complete-0003")
    assert "result_document.content_base64" in bad_base64.value.fields
    with pytest.raises(IllegalTransition):
        rpc.desk_action(official(AGENCY_B, "receptionist"), code, {"action": "return_result"}, "return-0001")
    assert [h["action"] for h in history(engine, code)] == ["register", "accept", "transfer"]

    done = rpc.desk_action(official(AGENCY_B, "approver"), code, complete, "complete-0004")
    assert rpc.desk_action(official(AGENCY_B, "approver"), code, complete, "complete-0004") == done
    document = json.loads(dossier_row(engine, code)["result_document"])
    assert document == {"filename": "quyet-dinh.pdf", "sha256": hashlib.sha256(PDF).hexdigest(),
                        "size_bytes": len(PDF), "storage_key": hashlib.sha256(PDF).hexdigest()}
    with attachment_store("status").open(document["storage_key"]) as blob:
        assert blob.read() == PDF
    with pytest.raises(Conflict) as reused:  # the same key for another command
        rpc.desk_action(official(AGENCY_B, "approver"), code, {"action": "stop", "reason": "x"}, "complete-0004")
    assert "idempotency_key" in reused.value.fields

    returned = rpc.desk_action(official(AGENCY_B, "receptionist"), code, {"action": "return_result"}, "return-0002")
    assert (returned["state"], returned["version"]) == ("returned", 5)
    assert [(h["action"], h["actor_kind"], h["actor_id"], h["actor_agency_code"]) for h in history(engine, code)] == [
        ("register", "system", None, None), ("accept", "official", f"can-bo-receptionist@{AGENCY_A}", AGENCY_A),
        ("transfer", "official", f"can-bo-handler@{AGENCY_A}", AGENCY_A),
        ("complete", "official", f"can-bo-approver@{AGENCY_B}", AGENCY_B),
        ("return_result", "official", f"can-bo-receptionist@{AGENCY_B}", AGENCY_B)]
    events = staged_events(engine)
    assert events == ["dossier_registered", "dossier_received", "dossier_transferred", "dossier_completed",
                      "dossier_returned"]


def test_an_official_records_a_withdrawal_only_with_a_reason_and_a_city_admin_acts_on_nothing(status, rpc, engine):
    code = submit_online(status)
    with pytest.raises(Forbidden, match="city_admin"):
        rpc.desk_action(official(AGENCY_A, "city_admin"), code, {"action": "accept"}, "accept-0001")
    with pytest.raises(ValidationFailed) as no_reason:
        rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "withdraw"}, "withdraw-0001")
    assert "reason" in no_reason.value.fields
    with pytest.raises(ValidationFailed) as bad_key:
        rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "withdraw", "reason": "x"}, "short")
    assert "idempotency_key" in bad_key.value.fields
    assert dossier_row(engine, code)["version"] == 1
    withdrawn = rpc.desk_action(official(AGENCY_A, "receptionist"), code,
                                {"action": "withdraw", "reason": "Đơn xin rút nộp tại quầy"}, "withdraw-0002")
    assert withdrawn["state"] == "withdrawn"


def test_of_two_officials_acting_at_once_on_the_same_version_one_wins_and_the_other_gets_a_fresh_view(
        status, rpc, engine, config):
    code = submit_online(status)
    version = rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "accept"}, "accept-0001")["version"]

    def act(assignee):
        with ServiceRpcProxy("status", config, timeout=15) as own_proxy:  # two officials, two connections
            try:
                return own_proxy.desk_action(official(AGENCY_A, "receptionist"), code, {
                    "action": "assign", "assignee": assignee, "expected_version": version}, f"assign-{assignee}")
            except Conflict as exc:
                return exc

    results = list(eventlet.GreenPool().imap(act, ["can-bo-7", "can-bo-8"]))
    [won] = [r for r in results if isinstance(r, dict)]
    [lost] = [r for r in results if isinstance(r, Conflict)]
    assert won["version"] == version + 1
    current = lost.fields["current"]
    assert current == {"state": "in_progress", "version": version + 1, "holder_agency_code": AGENCY_A,
                       "assignee": dossier_row(engine, code)["assignee"]}
    assert [h["action"] for h in history(engine, code)] == ["register", "accept", "assign"]
    with pytest.raises(Conflict) as stale:  # and a plain stale version gets the same fresh view
        rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "assign", "assignee": "can-bo-9",
                                                            "expected_version": version}, "assign-stale")
    assert stale.value.fields["current"] == current


def test_a_revoked_or_expired_token_is_refused_by_every_desk_call(status, rpc, engine):
    code = submit_online(status)
    token = official(AGENCY_A, "receptionist", token_id="jti-revoked-0001")
    assert rpc.desk_list(token, {})["total"] == 1
    expires_at = token["expires_at"]
    assert rpc.revoke_token("jti-revoked-0001", expires_at)["token_id"] == "jti-revoked-0001"
    assert rpc.revoke_token("jti-revoked-0001", expires_at)["token_id"] == "jti-revoked-0001"  # twice is harmless
    for call in (lambda: rpc.desk_list(token, {}), lambda: rpc.desk_get(token, code),
                 lambda: rpc.desk_action(token, code, {"action": "accept"}, "accept-0001")):
        with pytest.raises(Unauthorized, match="revoked"):
            call()
    with pytest.raises(Unauthorized, match="expired"):
        rpc.desk_list(official(AGENCY_A, "receptionist", expires_in=timedelta(seconds=-1)), {})
    for bad in (("jti-2", "yesterday"), ("j" * 129, expires_at)):
        with pytest.raises(ValidationFailed):
            rpc.revoke_token(*bad)
    assert dossier_row(engine, code)["state"] == "submitted"
    events = staged_events(engine)
    assert events.count("token_revoked") == 1


def test_the_citizens_supplement_resumes_the_clock_and_moves_the_appointment_and_legal_due_dates(status, engine):
    # Received Thu 23/4/2026 (route: A 1 day, B 2 days), paused Fri 24/4 10:00 for a supplement; the citizen
    # hands it in Tue 28/4 09:00: one working day (Fri 24) was paused, as Mon 27/4 is Hung Kings' day.
    data = submitted_data("counter", agency_code=AGENCY_A, workflow=ROUTE, time_limit_working_days="4",
                          submitted_at=datetime(2026, 4, 23, 10, 0, tzinfo=VN), appointment_date=date(2026, 5, 4))
    seeded_dossier, changes = register(data, "seed-1")
    changes.append(seeded_dossier.apply(Command("request_supplement", Actor("official", "can-bo-1", AGENCY_A),
                                                missing_items=("GCS",)),
                                        datetime(2026, 4, 24, 10, 0, tzinfo=VN)))
    with Session(engine) as session:
        repository.add(session, seeded_dossier)
        for change in changes:
            repository.add_history(session, seeded_dossier.code, change.entry)
        session.commit()
    assert (seeded_dossier.step_due_date, seeded_dossier.legal_due_date) == (date(2026, 4, 24), date(2026, 5, 4))

    envelope = supplement_envelope(seeded_dossier.code, datetime(2026, 4, 28, 9, 0, tzinfo=VN))
    publish(status, "supplement_submitted", "on_supplement_submitted", envelope)
    row = dossier_row(engine, seeded_dossier.code)
    assert (row["state"], row["version"]) == ("in_progress", 4)
    # Mon 4/5 moved by one working day: Tue 5/5; the step's Fri 24/4 to Tue 28/4.
    assert (row["appointment_date"], row["legal_due_date"], row["step_due_date"]) == (
        date(2026, 5, 5), date(2026, 5, 5), date(2026, 4, 28))
    last = history(engine, seeded_dossier.code)[-1]
    assert (last["action"], last["actor_kind"], last["at"]) == (
        "receive_supplement", "citizen", datetime(2026, 4, 28, 2, 0, tzinfo=timezone.utc))
    details = json.loads(last["details"])
    assert details["paused_working_days"] == 1 and details["supplement"]["supplement_id"] == "sup-1"

    publish(status, "supplement_submitted", "on_supplement_submitted", envelope)  # redelivered: nothing changes
    assert dossier_row(engine, seeded_dossier.code)["version"] == 4

    # A supplement nobody awaits (here, a second copy sent later) is kept in the history, the state unchanged.
    publish(status, "supplement_submitted", "on_supplement_submitted",
            supplement_envelope(seeded_dossier.code, datetime(2026, 4, 29, 9, 0, tzinfo=VN)))
    row = dossier_row(engine, seeded_dossier.code)
    assert (row["state"], row["version"], row["appointment_date"]) == ("in_progress", 5, date(2026, 5, 5))
    assert [h["action"] for h in history(engine, seeded_dossier.code)][-2:] == [
        "receive_supplement", "record_supplement"]
    events = staged_events(engine)
    assert events == ["supplement_received"]  # the seeded ones were not staged; the note publishes nothing
