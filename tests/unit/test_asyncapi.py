"""The AsyncAPI document is the bus contract: generated from the schemas, valid, and versioned."""
import copy
import uuid
from datetime import date

import pytest
from marshmallow import ValidationError
from pydantic_asyncapi import AsyncAPI

from motcua import asyncapi
from motcua.envelope import make_envelope
from motcua_contracts.events import EVENT_SCHEMAS, EVENT_VERSIONS, load_event_data


@pytest.fixture(scope="module")
def document():
    return asyncapi.load()


def test_the_committed_document_is_what_the_schemas_generate():
    assert asyncapi.main(["--check"]) == 0, "run `python -m motcua.asyncapi` and commit deploy/asyncapi.yaml"


def test_the_document_is_valid_asyncapi_3(document):
    # pydantic-asyncapi 0.3.2 departs from the specifications in two places, adapted in a copy here:
    # the AMQP binding's `is` is "queue" or "routingKey" (it knows "exchange" instead), and a JSON
    # Schema enum may hold null (it allows strings only).
    adapted = copy.deepcopy(document)
    for channel in adapted["channels"].values():
        amqp = channel.get("bindings", {}).get("amqp", {})
        if amqp.get("is") == "routingKey":
            amqp["is"] = "exchange"

    def strip_null_enums(node):
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list):
                node["enum"] = [value for value in node["enum"] if value is not None]
            for value in node.values():
                strip_null_enums(value)
        elif isinstance(node, list):
            for value in node:
                strip_null_enums(value)

    strip_null_enums(adapted)
    AsyncAPI.model_validate(adapted)


def test_every_event_and_department_message_is_documented(document):
    messages = document["components"]["messages"]
    for producer, event_type in EVENT_SCHEMAS:
        assert f"{producer}.{event_type}" in messages
        channel = document["channels"][f"{producer}.{event_type}"]
        assert channel["address"] == event_type
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{producer}.events"
    for name in ("departments.work_item", "departments.command_outcome", "departments.department_command"):
        assert name in messages


def status_event(**changes):
    data = {"dossier_code": "000.00.00.H49-261125-0001", "procedure_code": "1.001193", "action": "accept",
            "from_state": "submitted", "to_state": "received", "national_status_code": 2,
            "agency_code": "000.00.00.H49", "channel": "online", "actor": {"kind": "official", "id": "u1"},
            "appointment_date": date(2026, 11, 30), **changes}
    return make_envelope(event_type="dossier_received", producer="status", data=data,
                         dossier_code=data["dossier_code"], correlation_id=str(uuid.uuid4()))


def test_a_published_envelope_validates_and_a_broken_one_says_where(document):
    validator = asyncapi.MessageValidator(document)
    good = status_event()
    assert validator.errors(good) == []
    broken = copy.deepcopy(good)
    broken["data"]["national_status_code"] = 42
    del broken["data"]["agency_code"]
    errors = validator.errors(broken)
    assert any(e.startswith("data/national_status_code") for e in errors)
    assert any("agency_code" in e for e in errors)
    assert validator.errors({**good, "event_type": "dossier_teleported"}) == [
        "no message status.dossier_teleported in the document"]


def test_a_version_1_consumer_keeps_working_when_version_2_adds_optional_fields():
    data = status_event()["data"]
    newer = {**data, "priority": "high", "actor": {**data["actor"], "device": "kiosk-3"}}
    loaded = load_event_data("status", "dossier_received", newer, schema_version=2)
    assert loaded["to_state"] == "received" and "priority" not in loaded
    assert loaded["actor"] == {"kind": "official", "id": "u1", "agency_code": None}
    with pytest.raises(ValidationError):  # at the version this code knows, a stray field is a producer's bug
        load_event_data("status", "dossier_received", newer, schema_version=1)


def test_messages_carry_their_schema_version(document):
    for name, message in document["components"]["messages"].items():
        producer, _, event_type = name.partition(".")
        assert message["x-schema-version"] == EVENT_VERSIONS.get((producer, event_type), 1)
