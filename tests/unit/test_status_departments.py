"""Department systems in status, without broker or database: which change puts which work item on
which agency's queue, and the checks and answers of a department's command."""
from datetime import datetime, timezone

import pytest

from motcua.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from motcua_contracts.departments import CommandOutcomeSchema, DepartmentCommandSchema, WorkItemSchema
from motcua_contracts.events import dump_event_data
from status.domain import Command, register
from status.domain.departments import (
    accepted, answerable_id, check_routing, command, rejected, sender, work_item,
)
from status.domain.permissions import check_holder
from tests.unit.test_status_lifecycle import HOLDER, NOW, OFFICIAL, OTHER, make_dossier, submitted_data

CODE = "000.00.00.H49-260420-0001"
DECIDED = datetime(2026, 4, 22, 3, 0, tzinfo=timezone.utc)


def department_command(**fields) -> dict:
    return DepartmentCommandSchema().load({"command_id": "so-tp-000001", "agency_code": HOLDER,
                                           "dossier_code": CODE, "action": "accept", **fields})


def applied(dossier, action, actor=OFFICIAL, **inputs):
    return dossier.apply(Command(action, actor, idempotency_key=f"key-{action}", **inputs), NOW)


def test_acceptance_puts_a_received_item_on_the_holding_agency_with_the_version_to_expect():
    dossier = make_dossier("submitted")
    change = applied(dossier, "accept")
    item = work_item(dossier, change)
    assert (item["item_type"], item["agency_code"], item["state"], item["version"]) == (
        "dossier_received", HOLDER, "received", 4)
    assert item["version"] == dossier.version  # what a command's expected_version must say next
    assert item["from_agency_code"] is None
    assert (item["appointment_date"], item["received_at"], item["occurred_at"]) == (
        dossier.appointment_date, NOW, NOW)
    assert dump_event_data("status", "work_item", item)["dossier_code"] == CODE  # on contract


def test_a_transfer_puts_the_item_on_the_receiving_agency_saying_where_it_came_from():
    dossier = make_dossier("in_progress", assignee="official-7")
    item = work_item(dossier, applied(dossier, "transfer", to_agency_code=OTHER, reason="Thuộc thẩm quyền sở"))
    assert (item["item_type"], item["agency_code"], item["from_agency_code"]) == ("dossier_transferred", OTHER, HOLDER)
    assert (item["assignee"], item["reason"]) == (None, "Thuộc thẩm quyền sở")  # the new agency assigns
    WorkItemSchema().load(dump_event_data("status", "work_item", item))


@pytest.mark.parametrize("state, action, inputs, item_type", [
    ("received", "assign", {"assignee": "official-7"}, "dossier_assigned"),
    ("awaiting_supplement", "receive_supplement", {}, "supplement_received"),
    ("awaiting_payment", "record_payment", {}, "payment_recorded"),
])
def test_work_that_stays_with_the_holder_goes_to_the_holder(state, action, inputs, item_type):
    dossier = make_dossier(state)
    item = work_item(dossier, applied(dossier, action, **inputs))
    assert (item["item_type"], item["agency_code"], item["state"]) == (item_type, HOLDER, "in_progress")


@pytest.mark.parametrize("state, action, inputs", [
    ("submitted", "refuse", {"reason": "Không thuộc thẩm quyền"}),
    ("received", "request_supplement", {"missing_items": ("Giấy chứng sinh",)}),
    ("in_progress", "request_payment", {"fee_vnd": 50_000}),
    ("in_progress", "stop", {"reason": "Người nộp đề nghị dừng"}),
])
def test_changes_that_put_no_work_on_a_desk_make_no_item(state, action, inputs):
    dossier = make_dossier(state)
    assert work_item(dossier, applied(dossier, action, **inputs)) is None


def test_a_counter_dossier_accepted_at_registration_makes_one_received_item_and_none_for_registering():
    dossier, changes = register(submitted_data("counter"))
    items = [work_item(dossier, change) for change in changes]
    assert items[0] is None
    assert (items[1]["item_type"], items[1]["version"], items[1]["state"]) == ("dossier_received", 2, "received")


def test_an_online_dossier_waiting_for_acceptance_is_on_the_receiving_agencys_desk():
    dossier, [registered] = register(submitted_data("online"))
    item = work_item(dossier, registered)
    assert (item["item_type"], item["agency_code"], item["state"], item["version"]) == (
        "dossier_registered", dossier.agency_code, "submitted", 1)
    WorkItemSchema().load(dump_event_data("status", "work_item", item))


@pytest.mark.parametrize("routing_key, expected", [
    ("000.00.00.H49.accept", ("000.00.00.H49", "accept")),
    ("000.00.00.H49.request_supplement", ("000.00.00.H49", "request_supplement")),
    ("000.00.00.H49", None),  # no action
    ("accept", None),
    ("status.department-commands", None),  # a retry's queue name is never taken for the sender
    ("000.00.00.h49.accept", None),
])
def test_the_sender_is_read_from_the_routing_key(routing_key, expected):
    assert sender(routing_key) == expected


def test_a_body_naming_another_agency_or_action_than_its_routing_key_is_forbidden():
    check_routing(HOLDER, "accept", department_command())
    with pytest.raises(Forbidden) as other_agency:
        check_routing(OTHER, "accept", department_command())
    assert set(other_agency.value.fields) == {"agency_code"}
    with pytest.raises(Forbidden) as other_action:
        check_routing(HOLDER, "complete", department_command())
    assert set(other_action.value.fields) == {"action"}


@pytest.mark.parametrize("held_before, holder, error", [
    (False, OTHER, NotFound),  # never held: as if it did not exist
    (True, OTHER, Forbidden),  # transferred away: seen, not acted on
])
def test_only_the_holding_agency_acts_as_at_the_desk(held_before, holder, error):
    check_holder(HOLDER, "accept", CODE, HOLDER, True)
    with pytest.raises(error):
        check_holder(HOLDER, "accept", CODE, holder, held_before)


def test_a_command_acts_as_the_department_system_under_its_command_id():
    cmd = command(department_command(action="transfer", to_agency_code=OTHER, expected_version=4))
    assert (cmd.actor.kind, cmd.actor.id, cmd.actor.agency_code) == ("department_system", f"department:{HOLDER}",
                                                                     HOLDER)
    assert (cmd.idempotency_key, cmd.to_agency_code, cmd.expected_version) == ("so-tp-000001", OTHER, 4)
    named = command(department_command(official_id="chuyen-vien-09", action="request_supplement",
                                       missing_items=["Giấy chứng sinh"]))
    assert (named.actor.id, named.missing_items) == ("chuyen-vien-09", ("Giấy chứng sinh",))


@pytest.mark.parametrize("state, fields, error, field", [
    ("received", {"action": "transfer"}, ValidationFailed, "to_agency_code"),
    ("received", {"action": "request_supplement"}, ValidationFailed, "missing_items"),
    ("submitted", {"action": "refuse"}, ValidationFailed, "reason"),
    ("received", {"action": "stop", "reason": "  "}, ValidationFailed, "reason"),
    ("received", {"action": "accept"}, IllegalTransition, None),
    ("submitted", {"action": "accept", "expected_version": 2}, Conflict, "current"),
])
def test_a_department_command_meets_the_desks_rules(state, fields, error, field):
    dossier = make_dossier(state)
    with pytest.raises(error) as refused:
        dossier.apply(command(department_command(**fields)), NOW)
    if field is not None:
        assert field in refused.value.fields


def test_a_department_system_completes_without_attaching_the_result():
    dossier = make_dossier("in_progress")
    dossier.apply(command(department_command(action="complete")), NOW)
    assert dossier.state == "completed"


def test_an_accepted_outcome_carries_the_dossier_as_the_command_left_it():
    dossier = make_dossier("submitted")
    data = department_command()
    dossier.apply(command(data), NOW)
    outcome = CommandOutcomeSchema().load(dump_event_data("status", "command_outcome", accepted(data, dossier, DECIDED)))
    assert (outcome["command_id"], outcome["outcome"], outcome["state"], outcome["version"]) == (
        "so-tp-000001", "accepted", "received", 4)
    assert (outcome["error"], outcome["appointment_date"]) == (None, dossier.appointment_date)


def test_a_stale_version_is_rejected_with_the_current_state_and_version_to_decide_again():
    dossier = make_dossier("received")
    data = department_command(action="request_supplement", missing_items=["Giấy chứng sinh"], expected_version=2)
    with pytest.raises(Conflict) as stale:
        dossier.apply(command(data), NOW)
    outcome = rejected(data["command_id"], HOLDER, data, stale.value, DECIDED)
    wire = dump_event_data("status", "command_outcome", outcome)  # checked against the contract too
    assert (wire["outcome"], wire["state"], wire["version"]) == ("rejected", "received", 3)
    assert (wire["error"]["code"], wire["error"]["fields"]) == ("conflict", {})
    assert "version 3, expected 2" in wire["error"]["message"]


def test_a_rejected_outcome_carries_the_errors_field_messages():
    error = ValidationFailed("The command has invalid fields.", {"action": ["Must be one of: accept."],
                                                                 "missing_items": {"0": ["Shorter than minimum."]}})
    outcome = rejected("so-tp-000002", HOLDER, {"dossier_code": CODE, "action": "approve"}, error, DECIDED)
    wire = dump_event_data("status", "command_outcome", outcome)
    assert wire["error"] == {"code": "validation_failed", "message": "The command has invalid fields.",
                               "fields": {"action": ["Must be one of: accept."],
                                          "missing_items.0": ["Shorter than minimum."]}}
    assert (wire["dossier_code"], wire["action"], wire["state"]) == (CODE, "approve", None)


@pytest.mark.parametrize("data, expected", [
    ({"command_id": "so-tp-000003", "agency_code": HOLDER, "action": "approve"}, "so-tp-000003"),
    ({"command_id": "x", "agency_code": HOLDER}, "x"),  # too short for the contract, still readable
    ({"command_id": "so-tp-000003", "agency_code": OTHER}, None),  # the answer would go to another agency
    ({"command_id": "so-tp-000003"}, None),
    ({"command_id": 42, "agency_code": HOLDER}, None),
    ({"command_id": "", "agency_code": HOLDER}, None),
    ({"command_id": "x" * 129, "agency_code": HOLDER}, None),
])
def test_an_off_contract_command_is_answered_only_with_a_readable_id_from_the_routing_keys_agency(data, expected):
    assert answerable_id(data, HOLDER) == expected

