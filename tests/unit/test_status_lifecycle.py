"""The dossier state machine of status, without broker or database."""
import copy
import hashlib
from datetime import date, datetime, time, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from motcua.errors import Conflict, IllegalTransition, ValidationFailed
from motcua.national_codes import DossierState
from motcua_contracts.events import dump_event_data
from motcua_contracts.status import ACTIONS
from status.domain import SYSTEM, Actor, ClockPause, Command, Dossier, register

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HOLDER = "000.00.00.H49"
OTHER = "000.00.12.H49"
OFFICIAL = Actor("official", "official-42", HOLDER)
CITIZEN = Actor("citizen")
SUBMITTED_AT = datetime(2026, 4, 20, 9, 0, tzinfo=VN)
PAUSED_AT = datetime(2026, 4, 21, 10, 0, tzinfo=VN)
NOW = datetime(2026, 4, 22, 10, 0, tzinfo=VN)

# docs/architecture.md section 4 and the issue, written out here rather than read from status.domain.RULES.
OPEN = {"received", "in_progress", "awaiting_supplement", "awaiting_payment"}
LEGAL = {
    "accept": ({"submitted"}, "received", "dossier_received"),
    "refuse": ({"submitted"}, "refused", "dossier_refused"),
    "assign": ({"received", "in_progress"}, "in_progress", "dossier_assigned"),
    "transfer": ({"received", "in_progress"}, "in_progress", "dossier_transferred"),
    "request_supplement": ({"received", "in_progress"}, "awaiting_supplement", "supplement_requested"),
    "receive_supplement": ({"awaiting_supplement"}, "in_progress", "supplement_received"),
    "request_payment": ({"in_progress"}, "awaiting_payment", "payment_requested"),
    "record_payment": ({"awaiting_payment"}, "in_progress", "payment_recorded"),
    "complete": ({"in_progress"}, "completed", "dossier_completed"),
    "stop": (OPEN, "stopped", "dossier_stopped"),
    "return_result": ({"completed"}, "returned", "dossier_returned"),
    "withdraw": (OPEN | {"submitted"}, "withdrawn", "dossier_withdrawn"),
}
NATIONAL = {"received": 2, "refused": 3, "in_progress": 4, "awaiting_supplement": 5, "awaiting_payment": 6,
            "withdrawn": 7, "stopped": 8, "completed": 9, "returned": 10}
VALID_INPUTS = {
    "refuse": {"reason": "Hồ sơ không thuộc thẩm quyền"},
    "stop": {"reason": "Người nộp đã chết"},
    "assign": {"assignee": "official-7"},
    "transfer": {"to_agency_code": OTHER},
    "request_supplement": {"missing_items": ("Bản sao giấy chứng sinh",)},
    "request_payment": {"fee_vnd": 50_000},
    "withdraw": {"actor": CITIZEN},
    "complete": {"result_document": {"filename": "giay-khai-sinh.pdf", "sha256": "c" * 64, "size_bytes": 1024,
                                     "storage_key": "c" * 64}},
}


def make_dossier(state: str = "submitted", **fields) -> Dossier:
    dossier = Dossier(
        code="000.00.00.H49-260420-0001", procedure_code="1.001193", procedure_name="Đăng ký khai sinh",
        procedure_version=1, agency_code=HOLDER, holder_agency_code=HOLDER, channel="online",
        return_method="counter", tracking_key_hash=hashlib.sha256(b"secret-key").hexdigest(),
        applicant_given_name="An", submitted_at=SUBMITTED_AT, appointment_date=date(2026, 4, 29),
        time_limit_working_days=Decimal("3"), cutoff_hour=time(15), state=DossierState(state), version=3,
        received_at=None if state == "submitted" else SUBMITTED_AT,
        pauses=[ClockPause(PAUSED_AT, state)] if state.startswith("awaiting") else [],
    )
    for name, value in fields.items():
        setattr(dossier, name, value)
    return dossier


def command(action: str, **inputs) -> Command:
    return Command(**{"action": action, "actor": OFFICIAL, "idempotency_key": f"key-{action}",
                      **VALID_INPUTS.get(action, {}), **inputs})


def test_the_table_covers_every_action_of_the_contract():
    assert set(LEGAL) == set(ACTIONS)


@pytest.mark.parametrize("state", [s.value for s in DossierState])
@pytest.mark.parametrize("action", ACTIONS)
def test_exactly_the_legal_transitions_pass(state, action):
    dossier = make_dossier(state)
    before = copy.deepcopy(dossier)
    sources, target, event_type = LEGAL[action]
    if state in sources:
        change = dossier.apply(command(action), NOW)
        assert (dossier.state, dossier.version, dossier.updated_at) == (target, 4, NOW)
        entry = change.entry
        assert (entry.seq, entry.action, entry.from_state, entry.to_state, entry.at) == (4, action, state, target, NOW)
        assert entry.idempotency_key == f"key-{action}"
        assert entry.actor == VALID_INPUTS.get(action, {}).get("actor", OFFICIAL)
        assert change.event.type == event_type
        assert change.event.data["national_status_code"] == NATIONAL[target]
        assert dump_event_data("status", event_type, change.event.data)["to_state"] == target  # on contract
    else:
        with pytest.raises(IllegalTransition) as refused:
            dossier.apply(command(action), NOW)
        assert state in refused.value.message and action in refused.value.message
        assert dossier == before


@pytest.mark.parametrize("state, action, inputs, field", [
    ("submitted", "refuse", {"reason": None}, "reason"),
    ("submitted", "refuse", {"reason": "   "}, "reason"),
    ("awaiting_payment", "stop", {"reason": None}, "reason"),
    ("received", "assign", {"assignee": None}, "assignee"),
    ("in_progress", "transfer", {"to_agency_code": None}, "to_agency_code"),
    ("in_progress", "transfer", {"to_agency_code": HOLDER}, "to_agency_code"),
    ("in_progress", "request_supplement", {"missing_items": ()}, "missing_items"),
    ("in_progress", "request_supplement", {"missing_items": (" ",)}, "missing_items"),
    ("in_progress", "request_payment", {"fee_vnd": None}, "fee_vnd"),
    ("in_progress", "request_payment", {"fee_vnd": 0}, "fee_vnd"),
    ("in_progress", "withdraw", {"actor": OFFICIAL}, "reason"),  # an official records it, saying how
    ("in_progress", "withdraw", {"actor": Actor("department_system", "so-tp")}, "actor.kind"),
    ("in_progress", "complete", {"result_document": None}, "result_document"),  # an official attaches the result
    ("in_progress", "assign", {"result_document": {"filename": "x.pdf"}}, "result_document"),
    # Another action's input is refused, not silently dropped.
    ("in_progress", "complete", {"fee_vnd": 1_000}, "fee_vnd"),
    ("submitted", "accept", {"assignee": "official-7"}, "assignee"),
])
def test_missing_or_stray_inputs_are_refused_and_change_nothing(state, action, inputs, field):
    dossier = make_dossier(state)
    before = copy.deepcopy(dossier)
    with pytest.raises(ValidationFailed) as refused:
        dossier.apply(command(action, **inputs), NOW)
    assert field in refused.value.fields
    assert action in refused.value.message and state in refused.value.message
    assert dossier == before


def test_an_unknown_action_is_refused():
    with pytest.raises(ValidationFailed):
        make_dossier().apply(command("approve"), NOW)


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing():
    dossier = make_dossier("submitted")
    before = copy.deepcopy(dossier)
    with pytest.raises(Conflict, match="reload"):
        dossier.apply(command("accept", expected_version=2), NOW)
    assert dossier == before
    dossier.apply(command("accept", expected_version=3), NOW)
    assert dossier.version == 4


@pytest.mark.parametrize("pause, resume, paused_state", [
    ("request_supplement", "receive_supplement", "awaiting_supplement"),
    ("request_payment", "record_payment", "awaiting_payment"),
])
def test_a_pause_moves_the_appointment_by_the_paused_working_days_across_a_holiday(pause, resume, paused_state):
    # Paused Fri 24/4/2026, resumed Tue 28/4: Sat 25, Sun 26 and Mon 27 (Hung Kings' day, observed) are
    # not working days, so one working day (Fri 24) was paused. The appointment Wed 29/4 moves by one
    # working day: Thu 30/4 and Fri 1/5 are holidays, then a weekend, so Mon 4/5/2026.
    dossier = make_dossier("in_progress", appointment_date=date(2026, 4, 29))
    paused_at, resumed_at = datetime(2026, 4, 24, 10, 0, tzinfo=VN), datetime(2026, 4, 28, 9, 0, tzinfo=VN)
    dossier.apply(command(pause), paused_at)
    assert dossier.pauses == [ClockPause(paused_at, paused_state)]
    assert dossier.appointment_date == date(2026, 4, 29)  # pausing alone moves nothing
    change = dossier.apply(command(resume), resumed_at)
    assert dossier.state == "in_progress"
    assert dossier.appointment_date == date(2026, 5, 4)
    assert dossier.pauses == [ClockPause(paused_at, paused_state, resumed_at)]
    assert change.entry.details["paused_working_days"] == 1
    assert change.entry.details["previous_appointment_date"] == "2026-04-29"
    assert change.event.data["appointment_date"] == date(2026, 5, 4)


def test_stopping_a_paused_dossier_closes_the_pause_without_moving_the_appointment():
    dossier = make_dossier("awaiting_supplement")
    dossier.apply(command("stop"), NOW)
    assert dossier.pauses == [ClockPause(PAUSED_AT, "awaiting_supplement", NOW)]
    assert dossier.appointment_date == date(2026, 4, 29)


def test_a_second_supplement_request_needs_a_reason_and_counts_the_dossier_overdue():
    dossier = make_dossier("in_progress", appointment_date=date(2026, 5, 8))
    first = dossier.apply(command("request_supplement"), datetime(2026, 4, 22, 9, 0, tzinfo=VN))
    assert (dossier.supplement_requests, dossier.counted_overdue) == (1, False)
    assert "counted_overdue" not in first.entry.details
    dossier.apply(command("receive_supplement"), datetime(2026, 4, 23, 9, 0, tzinfo=VN))
    before = copy.deepcopy(dossier)
    with pytest.raises(ValidationFailed) as refused:
        dossier.apply(command("request_supplement"), datetime(2026, 4, 24, 9, 0, tzinfo=VN))
    assert "reason" in refused.value.fields
    assert dossier == before
    second = dossier.apply(command("request_supplement", reason="Bản chụp giấy chứng sinh bị mờ"),
                           datetime(2026, 4, 24, 9, 0, tzinfo=VN))
    assert (dossier.supplement_requests, dossier.counted_overdue) == (2, True)
    assert second.entry.details["counted_overdue"] is True
    assert second.event.data["reason"] == "Bản chụp giấy chứng sinh bị mờ"


@pytest.mark.parametrize("local_time, cutoff, expected", [
    # Accepted Wed 25/11/2026 with a 3-working-day limit.
    (time(16, 0), time(15, 0), date(2026, 12, 1)),  # after the cut-off: from Thu 26 -> Fri 27, Mon 30, Tue 1/12
    (time(15, 0), time(15, 0), date(2026, 12, 1)),  # exactly at the cut-off counts as after it
    (time(14, 59), time(15, 0), date(2026, 11, 30)),  # before it: from Wed 25 -> Thu 26, Fri 27, Mon 30
    (time(16, 0), time(17, 0), date(2026, 11, 30)),  # the procedure's own later cut-off
])
def test_accepting_an_online_dossier_issues_the_appointment_from_acceptance(local_time, cutoff, expected):
    dossier = make_dossier("submitted", cutoff_hour=cutoff, appointment_date=date(2026, 11, 26))
    accepted_at = datetime.combine(date(2026, 11, 25), local_time, VN)
    change = dossier.apply(command("accept"), accepted_at)
    assert dossier.appointment_date == expected
    assert dossier.received_at == accepted_at
    assert change.event.data["appointment_date"] == expected
    assert change.entry.details["appointment_date"] == expected.isoformat()


def test_assigning_and_transferring():
    dossier = make_dossier("received")
    first = dossier.apply(command("assign"), NOW)
    assert dossier.assignee == "official-7" and first.entry.public  # received -> in_progress: the citizen sees it
    again = dossier.apply(command("assign", assignee="official-8"), NOW)
    assert dossier.assignee == "official-8" and not again.entry.public  # an internal reassignment
    moved = dossier.apply(command("transfer", reason="Thuộc thẩm quyền Sở Tư pháp"), NOW)
    assert (dossier.holder_agency_code, dossier.assignee) == (OTHER, None)
    assert moved.entry.public and moved.entry.agency_code == HOLDER
    assert (moved.event.data["agency_code"], moved.event.data["to_agency_code"]) == (HOLDER, OTHER)


def submitted_data(channel: str, **fields) -> dict:
    """intake's dossier_submitted data as the event handler receives it (loaded by the contract)."""
    return {
        "dossier_code": "000.00.00.H49-261125-0007", "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh", "procedure_version": 2, "agency_code": HOLDER, "channel": channel,
        "return_method": "postal", "submitted_at": datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc),
        "appointment_date": date(2026, 11, 27), "time_limit_working_days": Decimal("2"), "cutoff_hour": "15:00",
        "tracking_key_hash": "b" * 64, "applicant": {"full_name": "  Nguyễn  Văn An ", "phone": "0912345678",
                                                     "email": None},
        "form": {"ho_ten_tre": "Nguyễn Văn Bình"}, "attachments": [], "fees_vnd": None, **fields,
    }


def test_an_online_dossier_is_registered_waiting_for_the_officer():
    dossier, changes = register(submitted_data("online"), "event-1")
    assert (dossier.state, dossier.version, dossier.received_at) == ("submitted", 1, None)
    assert dossier.applicant_given_name == "An"  # the given name only: personal data minimised
    assert dossier.cutoff_hour == time(15, 0)
    [change] = changes
    assert change.event.type == "dossier_registered"
    entry = change.entry
    assert (entry.seq, entry.action, entry.from_state, entry.to_state) == (1, "register", None, "submitted")
    assert entry.actor == SYSTEM
    assert entry.idempotency_key == "event-1" and entry.public
    assert dump_event_data("status", "dossier_registered", change.event.data)["national_status_code"] == 1


@pytest.mark.parametrize("channel", ["counter", "postal"])
def test_counter_and_postal_dossiers_are_accepted_at_once_with_the_appointment_intake_issued(channel):
    # 1/12 is not what the calendar gives (27/11): intake's appointment stands, it was printed on the receipt.
    dossier, changes = register(submitted_data(channel, appointment_date=date(2026, 12, 1)))
    assert (dossier.state, dossier.version) == ("received", 2)
    assert dossier.received_at == dossier.submitted_at
    assert dossier.appointment_date == date(2026, 12, 1)
    assert [c.event.type for c in changes] == ["dossier_registered", "dossier_received"]
    assert [c.entry.seq for c in changes] == [1, 2]
    assert changes[1].entry.actor == SYSTEM


def test_a_bad_cutoff_hour_is_refused():
    with pytest.raises(ValidationFailed):
        register(submitted_data("online", cutoff_hour="3pm"))


def test_the_tracking_key_is_checked_against_its_hash():
    dossier = make_dossier()
    assert dossier.tracking_key_matches("secret-key")
    assert not dossier.tracking_key_matches("secret-kez")
    assert not dossier.tracking_key_matches(None)


def test_an_official_records_a_withdrawal_with_a_reason_and_a_department_system_completes_without_a_document():
    dossier = make_dossier("in_progress")
    dossier.apply(command("withdraw", actor=OFFICIAL, reason="Đơn xin rút hồ sơ nộp tại quầy"), NOW)
    assert dossier.state == "withdrawn"
    other = make_dossier("in_progress")
    change = other.apply(command("complete", actor=Actor("department_system", "so-tp"), result_document=None), NOW)
    assert other.state == "completed" and other.result_document is None
    assert "result_document" not in change.entry.details


def test_completing_keeps_the_result_document_metadata():
    dossier = make_dossier("in_progress")
    change = dossier.apply(command("complete"), NOW)
    assert dossier.result_document == VALID_INPUTS["complete"]["result_document"]
    assert change.entry.details["result_document"]["sha256"] == "c" * 64


# --- the route: steps of the workflow template --------------------------------------------------

AGENCY_A, AGENCY_B, AGENCY_C, AGENCY_X = "000.00.00.H49", "000.00.12.H49", "000.00.13.H49", "000.00.99.H49"
ROUTE = [{"agency": AGENCY_A, "role": "receptionist", "working_days": Decimal("1")},
         {"agency": AGENCY_B, "role": "handler", "working_days": Decimal("2")},
         {"agency": AGENCY_C, "role": "approver", "working_days": Decimal("1")}]
THU = datetime(2026, 4, 23, 10, 0, tzinfo=VN)  # before the cut-off: the time limit counts from Thu 23/4


def routed(workflow=ROUTE, **fields) -> Dossier:
    dossier, _ = register(submitted_data("online", agency_code=AGENCY_A, workflow=workflow, **fields))
    return dossier


def test_registration_keeps_the_route_and_the_legal_due_date_starts_as_the_appointment():
    dossier = routed()
    assert [(s.agency, s.role, s.working_days) for s in dossier.workflow] == [
        (AGENCY_A, "receptionist", 1), (AGENCY_B, "handler", 2), (AGENCY_C, "approver", 1)]
    assert dossier.step_index is None and dossier.step_due_date is None  # the route starts on acceptance
    assert dossier.legal_due_date == dossier.appointment_date


def test_acceptance_starts_the_route_and_without_a_workflow_the_step_stays_empty():
    dossier = routed(time_limit_working_days=Decimal("4"))
    dossier.apply(command("accept"), THU)
    assert (dossier.step_index, dossier.step_role, dossier.step_due_date) == (0, "receptionist", date(2026, 4, 24))
    # Thu 23 + 4 working days: Fri 24, (Sat, Sun, Mon 27 Hung Kings' day) Tue 28, Wed 29, (30/4, 1/5) Mon 4/5.
    assert dossier.appointment_date == dossier.legal_due_date == date(2026, 5, 4)
    bare = routed(workflow=[])
    bare.apply(command("accept"), THU)
    assert (bare.step_index, bare.step_role, bare.step_due_date) == (None, None, None)
    bare.apply(command("transfer", to_agency_code=AGENCY_B), THU)
    assert "route" not in bare.apply(command("transfer", to_agency_code=AGENCY_C), THU).entry.details


def test_a_fractional_step_is_rounded_up_cumulatively_across_the_holidays():
    workflow = [{"agency": AGENCY_A, "role": "receptionist", "working_days": Decimal("0.5")},
                {"agency": AGENCY_A, "role": "handler", "working_days": Decimal("2")},
                {"agency": AGENCY_B, "role": "handler", "working_days": Decimal("3")},
                {"agency": AGENCY_B, "role": "approver", "working_days": Decimal("1")}]
    dossier = routed(workflow=workflow)
    dossier.apply(command("accept"), THU)
    # A holds steps 0 and 1 (no transfer between them): 0.5 + 2 = 2.5 -> 3 working days after Thu 23/4,
    # Mon 27/4 being Hung Kings' day off: Fri 24, Tue 28, Wed 29.
    assert dossier.step_due_date == date(2026, 4, 29)
    # The hand-over to B enters step 2; B's stretch runs through step 3: 0.5 + 2 + 3 + 1 = 6.5 -> 7
    # working days, past 30/4-1/5 and the weekend: Fri 24, Tue 28, Wed 29, Mon 4, Tue 5, Wed 6, Thu 7/5.
    change = dossier.apply(command("transfer", to_agency_code=AGENCY_B), THU)
    assert change.entry.details["route"] == "template" and change.entry.details["step"] == 2
    assert (dossier.step_index, dossier.step_role, dossier.step_due_date) == (2, "handler", date(2026, 5, 7))


def test_a_transfer_to_the_next_steps_agency_follows_the_template_and_any_other_deviates():
    dossier = routed()
    dossier.apply(command("accept"), THU)
    to_b = dossier.apply(command("transfer", to_agency_code=AGENCY_B), datetime(2026, 4, 24, 9, 0, tzinfo=VN))
    assert {k: to_b.entry.details[k] for k in ("route", "step")} == {"route": "template", "step": 1}
    # Thu 23 + 1 + 2 working days: Fri 24, Tue 28, Wed 29.
    assert (dossier.holder_agency_code, dossier.step_index, dossier.step_due_date) == (AGENCY_B, 1, date(2026, 4, 29))

    to_x = dossier.apply(command("transfer", to_agency_code=AGENCY_X), NOW)
    assert to_x.entry.details["route"] == "deviation" and "step" not in to_x.entry.details
    assert (dossier.holder_agency_code, dossier.step_index, dossier.step_due_date) == (AGENCY_X, 1, date(2026, 4, 29))
    back_to_a = dossier.apply(command("transfer", to_agency_code=AGENCY_A), NOW)
    assert back_to_a.entry.details["route"] == "deviation" and dossier.step_index == 1

    to_c = dossier.apply(command("transfer", to_agency_code=AGENCY_C), NOW)  # C's step follows B's: on the route again
    assert {k: to_c.entry.details[k] for k in ("route", "step")} == {"route": "template", "step": 2}
    assert (dossier.step_index, dossier.step_role, dossier.step_due_date) == (2, "approver", date(2026, 5, 4))
    assert dossier.apply(command("transfer", to_agency_code=AGENCY_B), NOW).entry.details["route"] == "deviation"


def test_a_pause_moves_the_step_and_legal_due_dates_and_later_steps_count_the_paused_days():
    dossier = routed(time_limit_working_days=Decimal("4"))
    dossier.apply(command("accept"), THU)
    assert (dossier.step_due_date, dossier.legal_due_date) == (date(2026, 4, 24), date(2026, 5, 4))
    # Paused Fri 24/4 10:00 to Tue 28/4: one working day (Fri 24) did not count.
    dossier.apply(command("request_supplement"), datetime(2026, 4, 24, 10, 0, tzinfo=VN))
    dossier.apply(command("receive_supplement"), datetime(2026, 4, 28, 9, 0, tzinfo=VN))
    assert dossier.step_due_date == date(2026, 4, 28)
    assert dossier.appointment_date == dossier.legal_due_date == date(2026, 5, 5)
    # Step 1 is due 1 + 2 working days plus the paused one after Thu 23: Fri 24, Tue 28, Wed 29, Mon 4/5.
    dossier.apply(command("transfer", to_agency_code=AGENCY_B), datetime(2026, 4, 28, 10, 0, tzinfo=VN))
    assert dossier.step_due_date == date(2026, 5, 4)
    assert dossier.paused_working_days(NOW) == 1


def test_a_supplement_nobody_awaited_is_kept_in_the_history_without_a_transition():
    dossier = make_dossier("in_progress")
    entry = dossier.record_supplement({"supplement_id": "s-1"}, CITIZEN, NOW, key="event-9")
    assert (dossier.state, dossier.version) == ("in_progress", 4)
    assert (entry.seq, entry.action, entry.from_state, entry.to_state) == (4, "record_supplement", "in_progress",
                                                                            "in_progress")
    assert entry.details == {"supplement": {"supplement_id": "s-1"}} and entry.idempotency_key == "event-9"


def test_a_stale_version_conflict_carries_the_current_state_and_version():
    dossier = make_dossier("received")
    with pytest.raises(Conflict) as conflict:
        dossier.apply(command("assign", expected_version=2), NOW)
    assert conflict.value.fields["current"] == {"state": "received", "version": 3, "holder_agency_code": HOLDER,
                                                "assignee": None}


# --- the result by post -------------------------------------------------------------------------

CARRIER = Actor("carrier", "vnpost")


def test_every_lifecycle_event_says_how_the_result_returns():
    dossier, changes = register(submitted_data("postal"))
    assert [c.event.data["return_method"] for c in changes] == ["postal", "postal"]
    assert make_dossier("received").apply(command("assign"), NOW).event.data["return_method"] == "counter"
    assert dump_event_data("status", "dossier_received", changes[1].event.data)["return_method"] == "postal"


def test_a_carrier_returns_a_completed_result_and_does_nothing_else():
    dossier = make_dossier("completed", return_method="postal")
    change = dossier.apply(command("return_result", actor=CARRIER, reason="Đã giao cho Nguyễn Văn An"), NOW)
    assert (dossier.state, dossier.returned_at) == ("returned", NOW)
    assert (change.entry.actor, change.event.type, change.event.data["actor"]) == (
        CARRIER, "dossier_returned", {"kind": "carrier", "id": "vnpost", "agency_code": None})
    for state, action in (("submitted", "accept"), ("in_progress", "complete"), ("received", "withdraw"),
                          ("in_progress", "stop")):
        other = make_dossier(state)
        before = copy.deepcopy(other)
        with pytest.raises(ValidationFailed) as refused:
            other.apply(command(action, actor=CARRIER), NOW)
        assert "actor.kind" in refused.value.fields
        assert other == before
    with pytest.raises(ValidationFailed) as refused:
        make_dossier("submitted").apply(command("accept", actor=CARRIER), NOW)
    assert refused.value.fields == {"actor.kind": ["A carrier only returns the result (return_result)."]}


def test_a_result_the_carrier_brought_back_waits_at_the_counter_without_a_transition():
    dossier = make_dossier("completed", return_method="postal")
    entry = dossier.collect_at_counter(CARRIER, NOW, reason="Hoàn trả", key="event-3", details={"waybill": "VN1"})
    assert (dossier.state, dossier.return_method, dossier.version, dossier.updated_at) == (
        "completed", "counter", 4, NOW)
    assert (entry.seq, entry.action, entry.from_state, entry.to_state, entry.actor) == (
        4, "collect_at_counter", "completed", "completed", CARRIER)
    assert entry.public and entry.idempotency_key == "event-3" and entry.reason == "Hoàn trả"
    assert entry.details == {"waybill": "VN1", "previous_return_method": "postal", "return_method": "counter"}

    again = copy.deepcopy(dossier)
    assert again.collect_at_counter(CARRIER, NOW, reason="Hoàn trả", key="event-4", details={}) is None
    assert again == dossier  # already at the counter
    returned = make_dossier("returned", return_method="postal")
    assert returned.collect_at_counter(CARRIER, NOW, reason="Hoàn trả", key="event-5", details={}) is None
    assert returned.return_method == "postal"  # the result reached the citizen: nothing to collect


SCHEDULER = Actor("scheduler")


def test_an_apology_moves_the_promised_date_only_and_is_told_to_the_citizen():
    """Appointment 29/4, legally due 29/4, still in progress on Monday 4/5: template 04 with a new date."""
    dossier = make_dossier("in_progress")
    at = datetime(2026, 5, 4, 8, 0, tzinfo=VN)
    change = dossier.apologise(date(2026, 5, 4), date(2026, 5, 7), SCHEDULER, at)
    assert (dossier.appointment_date, dossier.legal_due_date) == (date(2026, 5, 7), date(2026, 4, 29))
    assert dossier.overdue_since == date(2026, 4, 30) and dossier.version == 4 and dossier.updated_at == at
    entry = change.entry
    assert (entry.seq, entry.action, entry.from_state, entry.to_state, entry.public) == (
        4, "apology", "in_progress", "in_progress", True)
    assert entry.details == {"template": "circular-01-2018-vpcp/template-04",
                             "original_appointment_date": "2026-04-29", "new_appointment_date": "2026-05-07"}
    assert change.event.type == "dossier_overdue"
    assert dump_event_data("status", "dossier_overdue", change.event.data)["new_appointment_date"] == "2026-05-07"
    assert "29/04/2026" in entry.reason == change.event.data["reason"]


@pytest.mark.parametrize("state, today", [
    ("in_progress", date(2026, 4, 29)),  # due today: on time through its date
    ("awaiting_supplement", date(2026, 5, 4)),  # the clock is paused: the citizen's time
    ("completed", date(2026, 5, 4)),
])
def test_no_apology_is_owed_on_time_paused_or_done_and_nothing_changes(state, today):
    dossier = make_dossier(state)
    before = copy.deepcopy(dossier)
    with pytest.raises(IllegalTransition):
        dossier.apologise(today, date(2026, 5, 7), SCHEDULER, datetime(2026, 5, 4, 8, 0, tzinfo=VN))
    assert dossier == before


def test_a_second_apology_waits_for_the_new_promise_to_pass():
    dossier = make_dossier("in_progress")
    dossier.apologise(date(2026, 5, 4), date(2026, 5, 7), SCHEDULER, datetime(2026, 5, 4, 8, 0, tzinfo=VN))
    with pytest.raises(IllegalTransition):
        dossier.apologise(date(2026, 5, 7), date(2026, 5, 12), SCHEDULER, datetime(2026, 5, 7, 8, 0, tzinfo=VN))
    dossier.apologise(date(2026, 5, 8), date(2026, 5, 13), SCHEDULER, datetime(2026, 5, 8, 8, 0, tzinfo=VN))
    assert (dossier.appointment_date, dossier.overdue_since) == (date(2026, 5, 13), date(2026, 4, 30))
