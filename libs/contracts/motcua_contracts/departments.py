"""What a department's own back-office system exchanges with Mot Cua on RabbitMQ.

Topology (declared in deploy/rabbitmq/definitions.json; a department's queue and user by
`python -m motcua.departments add <agency code>`):

- `departments.work` (topic exchange, published by status): a work item for an agency is
  published with routing key `<agency code>.<item type>`; each department's durable queue
  `department.<agency code>.work` is bound with `<agency code>.#`, so it receives that
  agency's items, and the outcomes of its own commands (`<agency code>.command_outcome`),
  and nothing else.
- `departments.commands` (topic exchange, consumed by status): a department publishes a
  command with routing key `<agency code>.<action>`; its RabbitMQ user may publish only
  with its own agency's prefix (topic permissions), and status also refuses a command whose
  body names another agency than its routing key.

Every message has the bus envelope (motcua_contracts.envelope): producer `status` and
event_type `work_item` / `command_outcome` going out, producer `department` and
event_type `department_command` coming in. `data` is one of the schemas below.
"""
import re

from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import AGENCY_CODE, DOSSIER_CODE, STATES

WORK_EXCHANGE = "departments.work"
COMMANDS_EXCHANGE = "departments.commands"
COMMANDS_QUEUE = "status.department-commands"
# Work item types: the status events that put work on an agency's desk (dossier_registered: an
# online dossier waiting for the receiving agency to accept or refuse it).
WORK_ITEM_TYPES = ("dossier_registered", "dossier_received", "dossier_assigned", "dossier_transferred", "supplement_received",
                   "payment_recorded")
COMMAND_OUTCOME = "command_outcome"
# The desk's actions a department system may take (docs/architecture.md section 5, issue 6).
DEPARTMENT_ACTIONS = ("accept", "refuse", "request_supplement", "transfer", "complete", "stop")
OUTCOMES = ("accepted", "rejected")


def department_queue(agency_code: str) -> str:
    return f"department.{agency_code}.work"


def work_routing_key(agency_code: str, item_type: str) -> str:
    return f"{agency_code}.{item_type}"


def command_routing_key(agency_code: str, action: str) -> str:
    return f"{agency_code}.{action}"


def agency_prefix_pattern(agency_code: str) -> str:
    """The regular expression RabbitMQ's topic permissions use for one agency's routing keys."""
    return f"^{re.escape(agency_code)}\\."


class WorkItemSchema(StrictSchema):
    """departments.work / `<agency>.<item type>`: work that reached the agency's desk."""

    item_type = fields.String(required=True, validate=validate.OneOf(WORK_ITEM_TYPES))
    agency_code = fields.String(required=True, validate=AGENCY_CODE)  # the department this item is for
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    # The dossier's version after this change: a command's `expected_version` guards against a stale view.
    version = fields.Integer(required=True)
    channel = fields.String(required=True)
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)
    appointment_date = fields.Date(required=True)
    from_agency_code = fields.String(load_default=None, allow_none=True, validate=AGENCY_CODE)
    assignee = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)
    missing_items = fields.List(fields.String(), load_default=None, allow_none=True)
    fee_vnd = fields.Integer(load_default=None, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)


class DepartmentCommandSchema(StrictSchema):
    """departments.commands / `<agency>.<action>`: a department system's decision on a dossier.

    `command_id` is the idempotency key: the same command again answers the first outcome
    and changes nothing. `official_id` names the person in the department's own system, for
    the audit history.
    """

    command_id = fields.String(required=True, validate=validate.Length(min=8, max=128))
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    action = fields.String(required=True, validate=validate.OneOf(DEPARTMENT_ACTIONS))
    official_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    to_agency_code = fields.String(load_default=None, allow_none=True, validate=AGENCY_CODE)
    missing_items = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    expected_version = fields.Integer(load_default=None, allow_none=True)


class CommandErrorSchema(StrictSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
                          load_default=dict)


class CommandOutcomeSchema(StrictSchema):
    """departments.work / `<agency>.command_outcome`: what became of a command, correlated by command_id."""

    command_id = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    dossier_code = fields.String(load_default=None, allow_none=True)
    action = fields.String(load_default=None, allow_none=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    version = fields.Integer(load_default=None, allow_none=True)
    appointment_date = fields.Date(load_default=None, allow_none=True)
    error = fields.Nested(CommandErrorSchema, load_default=None, allow_none=True)
    decided_at = fields.AwareDateTime(required=True)
