"""The AsyncAPI 3.0 document of the bus, generated from the contract schemas themselves.

    python -m motcua.asyncapi            write deploy/asyncapi.yaml
    python -m motcua.asyncapi --check    exit 1 when the committed document and the code differ

Every message is the envelope (`motcua_contracts.envelope`) with `data` replaced by its
own schema; apispec's marshmallow converter turns each schema into JSON Schema (OpenAPI
3.1 dialect, which is JSON Schema 2020-12), so one `jsonschema` validator checks any
message against the document (`MessageValidator`).
"""
from __future__ import annotations

import argparse
import copy
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from motcua.schema_docs import decimal_as_string, text_without_control_characters
from motcua_contracts import departments
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import DEPARTMENT_MESSAGES, EVENT_SCHEMAS, event_version

DOCUMENT = Path(__file__).resolve().parents[3] / "deploy" / "asyncapi.yaml"

DESCRIPTION = """\
Mot Cua's services talk over RabbitMQ; departments integrate on the same bus with any AMQP
client. Each service publishes the facts it commits to its topic exchange `<service>.events`
with the event type as routing key. Work for a department reaches only that department's
queue `department.<agency code>.work`; its decisions go to `departments.commands` with its
agency code as the routing key's first words, and the outcome comes back on its queue.

Every message is JSON in one envelope: event_id (UUID), event_type, schema_version,
occurred_at (UTC), producer, dossier_code where it applies, correlation_id, and data.
Messages are persistent and published with confirms; the same event_id may arrive twice
(at-least-once): consumers de-duplicate on it. A command's command_id is its idempotency
key: sent again, it answers the first outcome and changes nothing.

Schema versions: a message's `schema_version` is the version of its `data` schema. A new
version may only add optional fields (a removal or a meaning change is a new event type).
A consumer that knows version N and receives N+k ignores the fields it does not know;
a field it does not know at its own version is refused (the message is dead-lettered),
because that is a producer's bug, not an evolution. The schemas below are each message's
current version, as `x-schema-version` says.
"""


def _converter() -> APISpec:
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    spec = APISpec("Mot Cua bus", "1", "3.1.0", plugins=[plugin])
    plugin.converter.add_attribute_function(decimal_as_string)
    plugin.converter.add_attribute_function(text_without_control_characters)
    return spec


def json_schema(schema: type[Schema] | Schema) -> dict:
    """A marshmallow schema as a self-contained JSON Schema (nested schemas inlined)."""
    spec = _converter()
    spec.components.schema("It", schema=schema)
    return spec.to_dict()["components"]["schemas"]["It"]


def _message(name: str, producer: str, event_type: str, data_schema: type[Schema]) -> dict:
    """The message: the envelope, with `data` the named schema."""
    envelope = json_schema(EnvelopeSchema)
    envelope["properties"]["data"] = {"$ref": f"#/components/schemas/{name}"}
    envelope["properties"]["event_type"] = {"const": event_type}
    envelope["properties"]["producer"] = {"const": producer}
    return {"name": name, "title": (data_schema.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json", "payload": envelope,
            "x-schema-version": event_version(producer, event_type)}


def _exchange_binding(exchange: str) -> dict:
    return {"amqp": {"is": "routingKey", "exchange": {"name": exchange, "type": "topic", "durable": True,
                                                       "autoDelete": False, "vhost": "/"}}}


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for (producer, event_type), schema in sorted(EVENT_SCHEMAS.items()):
        name = f"{producer}.{event_type}"
        schemas[name] = json_schema(schema)
        messages[name] = _message(name, producer, event_type, schema)
        channels[name] = {"address": event_type, "title": f"{producer}.events / {event_type}",
                          "messages": {name: {"$ref": f"#/components/messages/{name}"}},
                          "bindings": _exchange_binding(f"{producer}.events")}
        operations[f"publish.{name}"] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"},
                                         "summary": f"{producer} publishes {event_type} after committing it."}

    for (producer, event_type), schema in DEPARTMENT_MESSAGES.items():
        name = f"departments.{event_type}"
        schemas[name] = json_schema(schema)
        messages[name] = _message(name, producer, event_type, schema)
    channels["departments.work"] = {
        "address": "{agency_code}.{item_type}",
        "title": f"{departments.WORK_EXCHANGE}: one agency's work items and command outcomes",
        "parameters": {"agency_code": {"description": "QCVN 102 code of the department's agency."},
                       "item_type": {"enum": [*departments.WORK_ITEM_TYPES, departments.COMMAND_OUTCOME]}},
        "messages": {"work_item": {"$ref": "#/components/messages/departments.work_item"},
                     "command_outcome": {"$ref": "#/components/messages/departments.command_outcome"}},
        "bindings": _exchange_binding(departments.WORK_EXCHANGE),
    }
    channels["departments.queue"] = {
        "address": "department.{agency_code}.work",
        "title": "A department's own durable queue, bound to departments.work with `<agency code>.#`",
        "parameters": {"agency_code": {"description": "QCVN 102 code of the department's agency."}},
        "messages": copy.deepcopy(channels["departments.work"]["messages"]),
        "bindings": {"amqp": {"is": "queue", "queue": {"name": "department.{agency_code}.work", "durable": True,
                                                        "exclusive": False, "autoDelete": False, "vhost": "/"}}},
    }
    channels["departments.commands"] = {
        "address": "{agency_code}.{action}",
        "title": f"{departments.COMMANDS_EXCHANGE}: a department's decisions, its agency first in the routing key",
        "parameters": {"agency_code": {"description": "Must be the department's own agency (RabbitMQ topic "
                                                      "permissions and status both check it)."},
                       "action": {"enum": list(departments.DEPARTMENT_ACTIONS)}},
        "messages": {"department_command": {"$ref": "#/components/messages/departments.department_command"}},
        "bindings": _exchange_binding(departments.COMMANDS_EXCHANGE),
    }
    operations["publish.departments.work"] = {
        "action": "send", "channel": {"$ref": "#/channels/departments.work"},
        "summary": "status publishes each agency's work items and the outcomes of its commands."}
    operations["department.consume"] = {
        "action": "receive", "channel": {"$ref": "#/channels/departments.queue"},
        "summary": "A department consumes its own queue (acknowledging an item once its decision is confirmed)."}
    operations["receive.departments.commands"] = {
        "action": "receive", "channel": {"$ref": "#/channels/departments.commands"},
        "summary": "status executes a department's command with the desk's rules and answers a command_outcome."}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Mot Cua message bus", "version": "1.0.0", "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {"host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                                 "description": "The city's RabbitMQ (quorum queues in a cluster)."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


class MessageValidator:
    """Checks a message body against the document: the message for its producer and event type."""

    def __init__(self, document: dict):
        self.document = document

    @cached_property
    def _validators(self) -> dict[tuple[str, str], Any]:
        # Test-time tools (requirements-dev): generating the document needs neither.
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        registry = Registry().with_resource("urn:motcua:asyncapi", Resource.from_contents(
            self.document, default_specification=DRAFT202012))
        validators = {}
        for message in self.document["components"]["messages"].values():
            payload = message["payload"]
            key = (payload["properties"]["producer"]["const"], payload["properties"]["event_type"]["const"])
            schema = copy.deepcopy(payload)
            schema["properties"]["data"] = {"$ref": "urn:motcua:asyncapi" + schema["properties"]["data"]["$ref"]}
            validators[key] = Draft202012Validator(schema, registry=registry,
                                                   format_checker=Draft202012Validator.FORMAT_CHECKER)
        return validators

    def errors(self, body: dict) -> list[str]:
        validator = self._validators.get((body.get("producer"), body.get("event_type")))
        if validator is None:
            return [f"no message {body.get('producer')}.{body.get('event_type')} in the document"]
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def load(path: Path = DOCUMENT) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.asyncapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed document")
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not args.output.exists() or args.output.read_text(encoding="utf-8") != text:
            print(f"{args.output} differs from the contract schemas: run `python -m motcua.asyncapi`",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
