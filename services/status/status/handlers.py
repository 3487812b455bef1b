"""status's use cases: plain functions over their ports, one per thing a caller asks of status.

Each takes the unit-of-work factory (`db`: anything with `unit_of_work()`), the clock, the
settings and the result store it needs as arguments, so it runs the same in the nameko
service (status.service, which only delegates) and in a unit test on SQLite.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from motcua.calendar import default_calendar, local_date
from motcua.db import Db, TimeSource, UnitOfWork
from motcua.errors import (
    Conflict, MotCuaError, NotFound, PayloadTooLarge, PermanentFailure, Unauthorized, ValidationFailed,
    marshmallow_fields,
)
from motcua.idempotency import check_key, first_answer
from motcua.logs import dossier_context
from motcua.national_codes import NATIONAL_STATUS_CODE, DossierState
from motcua.storage import AttachmentStore
from motcua.tracking import request_hash
from motcua_contracts.base import shared
from motcua_contracts.departments import (
    COMMAND_OUTCOME, DEPARTMENT_ACTIONS, WORK_EXCHANGE, WORK_ITEM_TYPES, DepartmentCommandSchema, work_routing_key,
)
from motcua_contracts.desk import (
    DeskActionSchema, DeskDossierDetailSchema, DeskPageSchema, DeskQuerySchema, OfficialSchema, TokenRevokedSchema,
)
from motcua_contracts.status import ActionOutcomeSchema, DossierActionSchema, PublicDossierViewSchema
from status import repository
from status.domain import (
    DESK_SOURCES, RULES, Actor, Change, Command, Dossier, departments, permissions, register, time_in_states_left,
)
from status.domain.deadlines import is_overdue
from status.domain.delivery import delivered_reason, follow, reached, returned_reason
from status.domain.desk import APOLOGY_TEMPLATE, warning
from status.domain.kpi import completed_on_time
from status.domain.permissions import Official
from status.settings import StatusSettings

log = logging.getLogger(__name__)

TRANSITIONS = Counter("motcua_dossier_transitions_total", "Dossier lifecycle events recorded",
                      ["event_type", "agency", "channel"])
REGISTERED = Counter("motcua_dossiers_registered_total", "Dossiers registered from intake",
                     ["procedure", "agency", "channel"])
RECEIVED = Counter("motcua_dossiers_received_total", "Dossiers received (accepted) by the agency",
                   ["procedure", "agency", "channel"])
COMPLETED = Counter("motcua_dossiers_completed_total", "Dossiers completed with a result, on time or late by the "
                    "national rule", ["procedure", "agency", "timeliness"])
SUPPLEMENTS_REQUESTED = Counter("motcua_supplements_requested_total", "Supplements requested of the citizen",
                                ["procedure", "agency"])
# From minutes at the desk to weeks awaiting a supplement or a result's collection.
STATE_SECONDS = Histogram("motcua_dossier_state_seconds", "Time a dossier spent in a state, observed as it left it",
                          ["state"], buckets=(60, 600, 3600, 4 * 3600, 86400, 2 * 86400, 3 * 86400, 5 * 86400,
                                              7 * 86400, 10 * 86400, 15 * 86400, 30 * 86400, 60 * 86400,
                                              90 * 86400))
WORK_ITEMS = Counter("motcua_department_work_items_total", "Work items put on a department's queue", ["item_type"])
DEPARTMENT_COMMANDS = Counter("motcua_department_commands_total", "Department systems' commands decided",
                              ["action", "outcome"])


# --- from intake and postal (events) --------------------------------------------------------------

def register_dossier(db: Db, envelope: Mapping[str, Any]) -> None:
    """intake's `dossier_submitted`: the dossier's lifecycle begins (and a counter dossier is accepted)."""
    data, event_id = envelope["data"], str(envelope["event_id"])
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message("status.on_dossier_submitted", event_id):
            return  # a redelivery: already registered
        if repository.find(uow.session, data["dossier_code"]) is not None:
            log.warning("dossier announced again under another event id %s; the first stands", event_id)
            uow.commit()
            return
        try:
            dossier, changes = register(data, event_id)
        except ValidationFailed as exc:
            raise PermanentFailure(str(exc)) from exc  # retrying cannot fix the message
        repository.add(uow.session, dossier)
        _record(uow, dossier, changes)
        uow.commit()
    REGISTERED.labels(dossier.procedure_code, dossier.agency_code, dossier.channel).inc()
    # The series the dossier will move next exist from now, at 0: Prometheus's increase() cannot count the first
    # increment of a series it has never seen.
    RECEIVED.labels(dossier.procedure_code, dossier.agency_code, dossier.channel)
    for timeliness in ("on_time", "late"):
        COMPLETED.labels(dossier.procedure_code, dossier.agency_code, timeliness)
    _count(dossier, changes, entered_at=None)


def take_supplement(db: Db, clock: TimeSource, envelope: Mapping[str, Any]) -> None:
    """intake's `supplement_submitted`: the citizen's supplement resumes the clock; one nobody awaited is
    only kept in the history."""
    data, event_id = envelope["data"], str(envelope["event_id"])
    supplement = {"supplement_id": data["supplement_id"], "note": data["note"],
                  "attachments": [{k: a[k] for k in ("attachment_id", "document_code", "filename", "sha256")}
                                  for a in data["attachments"]]}
    citizen = Actor("citizen")
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message("status.on_supplement_submitted", event_id):
            return  # a redelivery: already applied
        dossier = repository.get(uow.session, data["dossier_code"])  # unknown yet: retried, then parked
        read_version, entered_at = dossier.version, repository.state_entered_at(uow.session, dossier.code)
        if dossier.state is DossierState.AWAITING_SUPPLEMENT:
            # The clock runs again from when the citizen handed the documents in, not from this delivery
            # (never before the pause began, whatever the clocks of the two services say).
            at = max(data["submitted_at"], dossier.pauses[-1].started_at)
            changes = [dossier.apply(Command("receive_supplement", citizen, idempotency_key=event_id,
                                             supplement=supplement), at)]
            repository.update(uow.session, dossier, read_version)
            _record(uow, dossier, changes)
        else:
            changes = []
            entry = dossier.record_supplement(supplement, citizen, clock(), key=event_id)
            repository.update(uow.session, dossier, read_version)
            repository.add_history(uow.session, dossier.code, entry)
        uow.commit()
    _count(dossier, changes, entered_at)


def follow_delivery(db: Db, envelope: Mapping[str, Any]) -> None:
    """postal's delivery events: keep the delivery summary; delivered returns the dossier, returned to
    sender brings it to the counter.

    The dossier changes only when the summary reaches that state, so an event out of order or
    announced twice moves nothing. Unknown dossier: retried, then parked.
    """
    data, event_id = envelope["data"], str(envelope["event_id"])
    carrier = Actor("carrier", data["carrier"])
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message("status.follow_delivery", event_id):
            return  # a redelivery: already applied
        dossier = repository.get(uow.session, data["dossier_code"])
        current = repository.find_delivery(uow.session, dossier.code, lock=True)
        summary = follow(current, data)
        if summary != current:
            repository.save_delivery(uow.session, dossier.code, summary, new=current is None)
        read_version, changes, entry = dossier.version, [], None
        entered_at = repository.state_entered_at(uow.session, dossier.code)
        # Never before the completion, whatever the carrier's clock says.
        at = max(data["at"], dossier.completed_at or data["at"])
        if reached(current, summary, "delivered") and dossier.state is DossierState.COMPLETED:
            changes = [dossier.apply(Command("return_result", carrier, idempotency_key=event_id,
                                             reason=delivered_reason(data)), at)]
        elif reached(current, summary, "returned_to_sender"):
            entry = dossier.collect_at_counter(carrier, at, reason=returned_reason(data), key=event_id,
                                               details={"waybill": data["waybill"], "attempts": data["attempts"]})
        if changes or entry:
            repository.update(uow.session, dossier, read_version)
        _record(uow, dossier, changes)
        if entry is not None:
            repository.add_history(uow.session, dossier.code, entry)
        uow.commit()
    _count(dossier, changes, entered_at)


# --- the citizen ----------------------------------------------------------------------------------

def public_view(db: Db, dossier_code: object, tracking_key: object) -> dict:
    """The citizen's view. An unknown code and a wrong key get the same answer: existence is not revealed."""
    with dossier_context(str(dossier_code)), db.unit_of_work() as uow:
        dossier = repository.find(uow.session, dossier_code) if isinstance(dossier_code, str) else None
        if dossier is None or not dossier.tracking_key_matches(tracking_key):
            raise NotFound("No dossier matches this code and tracking key.")
        history = repository.public_history(uow.session, dossier.code)
        delivery = repository.find_delivery(uow.session, dossier.code)
    return shared(PublicDossierViewSchema).dump({
        "dossier_code": dossier.code, "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name, "state": dossier.state,
        "national_status_code": NATIONAL_STATUS_CODE[dossier.state],
        "holder_agency_code": dossier.holder_agency_code, "channel": dossier.channel,
        "submitted_at": dossier.submitted_at, "appointment_date": dossier.appointment_date,
        "history": history, "return_method": dossier.return_method, "delivery": _delivery_summary(delivery),
    })


# --- commands: any actor, an official at the desk, a department's system ---------------------------

def apply_action(db: Db, clock: TimeSource, dossier_code: object, command: object) -> dict:
    """Apply a command (DossierActionSchema); a repeated idempotency key returns the first outcome and
    changes nothing."""
    code = _dossier_code(dossier_code)
    loaded = _load(shared(DossierActionSchema), command, "command")
    cmd = Command(**{**loaded, "actor": Actor(**loaded["actor"]),
                     "missing_items": tuple(loaded["missing_items"] or ())})
    return execute(db, clock, code, cmd, fingerprint(code, loaded))


def authenticate(db: Db, clock: TimeSource, official: object) -> Official:
    """The official whose token the gateway verified, unless it expired or was revoked since."""
    claims = _load(shared(OfficialSchema), official, "official's claims", prefix="official")
    if claims["expires_at"] <= clock():
        raise Unauthorized("The token has expired.")
    with db.unit_of_work() as uow:
        if repository.is_revoked(uow.session, claims["token_id"]):
            raise Unauthorized("The token was revoked.")
    return Official.of(claims["subject"], claims["agency_code"], claims["roles"])


def desk_list(db: Db, clock: TimeSource, settings: StatusSettings, official: object, query: object) -> dict:
    """The official's desk (DeskQuerySchema in, DeskPageSchema out): what their agency holds or has held."""
    who = authenticate(db, clock, official)
    wanted = _load(shared(DeskQuerySchema), query, "desk query")
    today = local_date(clock())
    with db.unit_of_work() as uow:
        rows, total = repository.desk_page(uow.session, None if who.city_admin else who.agency_code, wanted, today)
    return shared(DeskPageSchema).dump({"items": [_desk_item(row, today, settings) for row in rows], "page": wanted["page"],
                                  "per_page": wanted["per_page"], "total": total})


def desk_get(db: Db, clock: TimeSource, settings: StatusSettings, official: object, dossier_code: object) -> dict:
    """One dossier with its whole history (DeskDossierDetailSchema); NotFound if the official may not see it."""
    who = authenticate(db, clock, official)
    with dossier_context(str(dossier_code)), db.unit_of_work() as uow:
        dossier = repository.find(uow.session, dossier_code) if isinstance(dossier_code, str) else None
        if dossier is None or not permissions.can_see(
                who, repository.has_held(uow.session, dossier.code, who.agency_code)):
            raise NotFound(f"No dossier {dossier_code}.")
        history = repository.history(uow.session, dossier.code)
        apologies = repository.apologies(uow.session, dossier.code)
        delivery = repository.find_delivery(uow.session, dossier.code)
    now = clock()
    return shared(DeskDossierDetailSchema).dump({
        **_desk_item(vars(dossier), local_date(now), settings), "history": history,
        "apologies": [{"template": APOLOGY_TEMPLATE, **apology} for apology in apologies],
        "paused_working_days": dossier.paused_working_days(now), "return_method": dossier.return_method,
        "delivery": _delivery_summary(delivery),
        "available_actions": permissions.available_actions(who, dossier.holder_agency_code, DESK_SOURCES,
                                                           dossier.state),
    })


def desk_action(db: Db, clock: TimeSource, settings: StatusSettings, results: AttachmentStore, official: object,
                dossier_code: object, command: object, idempotency_key: object) -> dict:
    """An official's action (DeskActionSchema in, ActionOutcomeSchema out), idempotent by its key."""
    who = authenticate(db, clock, official)
    code = _dossier_code(dossier_code)
    loaded = _load(shared(DeskActionSchema), command, "action")
    check_key(idempotency_key, required=True)
    document, content = _result_document(loaded["result_document"], settings.result_max_bytes)
    cmd = Command(
        action=loaded["action"], actor=Actor("official", who.subject, who.agency_code),
        idempotency_key=idempotency_key, reason=loaded["reason"], to_agency_code=loaded["to_agency_code"],
        assignee=loaded["assignee"], missing_items=tuple(loaded["missing_items"] or ()),
        fee_vnd=loaded["fee_vnd"], expected_version=loaded["expected_version"], result_document=document,
    )
    inputs = {k: v for k, v in shared(DeskActionSchema).dump(loaded).items() if k != "result_document"}
    fp = _fingerprint(code, {**inputs, "actor": asdict(cmd.actor), "result_document": document})

    def admit(session: Session, dossier: Dossier) -> Command:
        permissions.check_action(who, cmd.action, dossier.code, dossier.holder_agency_code,
                                 repository.has_held(session, dossier.code, who.agency_code))
        if content is None or cmd.action != "complete" or dossier.state not in RULES["complete"].sources:
            return cmd  # the lifecycle refuses it next (a stray document, or not completable now): unstored
        return replace(cmd, result_document={**document, "storage_key": results.put(content)})

    return execute(db, clock, code, cmd, fp, admit)


def handle_department_command(db: Db, clock: TimeSource, envelope: Mapping[str, Any], routing_key: str,
                              errors: dict | None) -> None:
    """A department system's decision (DepartmentCommandSchema), done with the desk's rules and answered
    on its agency's queue (CommandOutcomeSchema). A command_id answered before is answered the same again."""
    data = envelope["data"]
    sender = departments.sender(routing_key)
    if sender is None:
        raise PermanentFailure(f"routing key {routing_key!r} is not <agency code>.<action>")
    agency, action = sender
    command_id = data["command_id"] if errors is None else departments.answerable_id(data, agency)
    if command_id is None:
        raise PermanentFailure(f"off-contract command with no answerable command_id: {errors}")
    with dossier_context(departments.echo(data.get("dossier_code"))):
        if _answer_again(db, clock, command_id, agency, data):
            return
        if errors is not None:
            _reject(db, clock, command_id, agency, data, ValidationFailed("The command has invalid fields.", errors))
            return
        answered: list[dict] = []

        def answer(uow: UnitOfWork, dossier: Dossier, at: datetime) -> None:
            outcome = departments.accepted(data, dossier, at)
            repository.add_department_command(uow.session, outcome, at)
            _answer(uow, outcome)
            answered.append(outcome)

        cmd = departments.command(data)
        fp = _fingerprint(data["dossier_code"], {"department_command": shared(DepartmentCommandSchema).dump(data)})

        def admit(session: Session, dossier: Dossier) -> Command:
            permissions.check_holder(agency, cmd.action, dossier.code, dossier.holder_agency_code,
                                     repository.has_held(session, dossier.code, agency))
            return cmd

        try:
            departments.check_routing(agency, action, data)
            execute(db, clock, data["dossier_code"], cmd, fp, admit, answer)
        except MotCuaError as exc:
            _reject(db, clock, command_id, agency, data, exc)
            return
        if answered:
            DEPARTMENT_COMMANDS.labels(cmd.action, "accepted").inc()
        elif not _answer_again(db, clock, command_id, agency, data):
            # The key's first outcome was returned, so a twin delivery committed it with its answer.
            raise RuntimeError(f"command {command_id} was done but its answer is not kept")


def revoke_token(db: Db, token_id: object, expires_at: object) -> dict:
    """Refuse an official's token from now on (TokenRevokedSchema); revoking twice is harmless."""
    data = _load(shared(TokenRevokedSchema), {"token_id": token_id, "expires_at": expires_at}, "revocation")
    if len(data["token_id"]) > 128:
        raise ValidationFailed("The token id is too long.", {"token_id": ["At most 128 characters."]})
    with db.unit_of_work() as uow:
        if repository.revoke(uow.session, data["token_id"], data["expires_at"]):
            uow.record_event("token_revoked", data)
        uow.commit()
    return shared(TokenRevokedSchema).dump(data)


def execute(db: Db, clock: TimeSource, code: str, cmd: Command, fp: str,
            admit: Callable[[Session, Dossier], Command] | None = None,
            answer: Callable[[UnitOfWork, Dossier, datetime], None] | None = None) -> dict:
    """Apply `cmd` once per idempotency key; `admit` may refuse it or complete it first, `answer` stages
    what else commits with the change. A repeated key returns the first outcome without either."""
    with dossier_context(code):
        try:
            return _apply(db, clock, code, cmd, fp, admit, answer)
        except Conflict:
            # A twin with the same key may have committed meanwhile: then answer as it did.
            with db.unit_of_work() as uow:
                prior = _prior_outcome(uow, cmd.idempotency_key, fp)
            if prior is None:
                raise
            return prior


def _apply(db: Db, clock: TimeSource, code: str, cmd: Command, fp: str,
           admit: Callable[[Session, Dossier], Command] | None,
           answer: Callable[[UnitOfWork, Dossier, datetime], None] | None) -> dict:
    with db.unit_of_work() as uow:
        prior = _prior_outcome(uow, cmd.idempotency_key, fp)
        if prior is not None:
            return prior
        dossier = repository.get(uow.session, code)
        if admit is not None:
            cmd = admit(uow.session, dossier)  # may refuse: nothing was written
        read_version, now = dossier.version, clock()
        entered_at = repository.state_entered_at(uow.session, code)
        change = dossier.apply(cmd, now)
        repository.update(uow.session, dossier, read_version)
        outcome = _outcome(dossier)
        repository.add_outcome(uow.session, cmd.idempotency_key, code, fp, outcome, now)
        _record(uow, dossier, [change])
        if answer is not None:
            answer(uow, dossier, now)
        uow.commit()
    _count(dossier, [change], entered_at)
    return outcome


def _answer_again(db: Db, clock: TimeSource, command_id: str, agency: str, data: Mapping[str, Any]) -> bool:
    """Answer a command_id answered before as it was first answered; False if it never was."""
    with db.unit_of_work() as uow:
        prior = repository.find_department_command(uow.session, command_id)
        if prior is None:
            return False
        first_agency, outcome = prior
        if first_agency != agency:
            # Another agency's command_id: its outcome is not this sender's to read.
            outcome = departments.rejected(command_id, agency, data, Conflict(
                "This command_id was already used.", {"command_id": ["Already used; choose another."]}), clock())
        _answer(uow, outcome)
        uow.commit()
    return True


def _reject(db: Db, clock: TimeSource, command_id: str, agency: str, data: Mapping[str, Any],
            error: MotCuaError) -> None:
    """Answer a refused command alone (nothing changed) and keep the answer for its repeats."""
    now = clock()
    outcome = departments.rejected(command_id, agency, data, error, now)
    with db.unit_of_work() as uow:
        repository.add_department_command(uow.session, outcome, now)
        _answer(uow, outcome)
        uow.commit()
    action = outcome["action"] if outcome["action"] in DEPARTMENT_ACTIONS else "unknown"
    DEPARTMENT_COMMANDS.labels(action, "rejected").inc()
    log.info("department command %s from %s rejected: %s", command_id, agency, error)


def _answer(uow: UnitOfWork, outcome: dict) -> None:
    uow.record_message(WORK_EXCHANGE, work_routing_key(outcome["agency_code"], COMMAND_OUTCOME), COMMAND_OUTCOME,
                       outcome, dossier_code=outcome["dossier_code"])


def _record(uow: UnitOfWork, dossier: Dossier, changes: list[Change]) -> None:
    """History, event and, when the change puts work on an agency's desk, that department's work item."""
    for change in changes:
        repository.add_history(uow.session, dossier.code, change.entry)
        uow.record_event(change.event.type, change.event.data, dossier_code=dossier.code)
        item = departments.work_item(dossier, change)
        if item is not None:
            uow.record_message(WORK_EXCHANGE, work_routing_key(item["agency_code"], item["item_type"]),
                               "work_item", item, dossier_code=dossier.code)


def _count(dossier: Dossier, changes: list[Change], entered_at: datetime | None) -> None:
    """Count committed changes, once each (a redelivered message or a repeated key commits none, and returns
    before this); `entered_at`: when the dossier entered the state the first change found it in."""
    for change in changes:
        agency = change.entry.agency_code
        TRANSITIONS.labels(change.event.type, agency, dossier.channel).inc()
        if change.event.type in WORK_ITEM_TYPES:
            WORK_ITEMS.labels(change.event.type).inc()
        match change.event.type:
            case "dossier_received":
                RECEIVED.labels(dossier.procedure_code, agency, dossier.channel).inc()
            case "dossier_completed":
                on_time = completed_on_time(local_date(change.entry.at), dossier.legal_due_date,
                                            dossier.counted_overdue)
                COMPLETED.labels(dossier.procedure_code, agency, "on_time" if on_time else "late").inc()
            case "supplement_requested":
                SUPPLEMENTS_REQUESTED.labels(dossier.procedure_code, agency).inc()
        log.info("dossier %s: %s -> %s (%s)", dossier.code, change.entry.from_state, change.entry.to_state,
                 change.entry.action)
    for state, spent in time_in_states_left(entered_at, [change.entry for change in changes]):
        STATE_SECONDS.labels(state).observe(spent.total_seconds())


# --- reading and checking what callers send -------------------------------------------------------

def _fingerprint(dossier_code: str, body: Mapping[str, Any]) -> str:
    return request_hash({"dossier_code": dossier_code, **body})


def fingerprint(dossier_code: str, command: dict) -> str:
    """sha256 of the canonical JSON of the command (loaded, so defaults are explicit) minus its key."""
    return _fingerprint(dossier_code,
                        {k: v for k, v in shared(DossierActionSchema).dump(command).items() if k != "idempotency_key"})


def _dossier_code(dossier_code: object) -> str:
    if not isinstance(dossier_code, str):
        raise ValidationFailed("The dossier code must be a string.", {"dossier_code": ["Not a string."]})
    return dossier_code


def _load(schema: Schema, data: object, what: str, prefix: str | None = None) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = {prefix: exc.messages} if prefix else exc.messages
        raise ValidationFailed(f"The {what} has invalid fields.", marshmallow_fields(messages)) from None


def _result_document(document: Mapping[str, str] | None, limit: int) -> tuple[dict | None, bytes | None]:
    """(metadata, bytes) of the result document attached to a desk action, checked."""
    if document is None:
        return None, None
    try:
        content = base64.b64decode(document["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("The result document is not valid base64.",
                               {"result_document.content_base64": ["Not base64."]}) from None
    if not content:
        raise ValidationFailed("The result document is empty.", {"result_document.content_base64": ["Empty file."]})
    if len(content) > limit:
        raise PayloadTooLarge(f"The result document is larger than {limit} bytes.",
                              {"result_document.content_base64": [f"At most {limit} bytes."]})
    return {"filename": document["filename"], "sha256": hashlib.sha256(content).hexdigest(),
            "size_bytes": len(content)}, content


def _desk_item(row: Mapping[str, Any], today: date, settings: StatusSettings) -> dict:
    """One dossier as the desk lists it, from its row (or the aggregate's fields: same names)."""
    state = DossierState(row["state"])
    return {
        "dossier_code": row["code"], "national_status_code": NATIONAL_STATUS_CODE[state], "step": row["step_index"],
        "warning": warning(state, row["legal_due_date"], row["appointment_date"], row["step_due_date"], today,
                           settings.warn_working_days, default_calendar()),
        "overdue": is_overdue(row["legal_due_date"], state, today),
        **{name: row[name] for name in ("procedure_code", "procedure_name", "state", "agency_code",
                                      "holder_agency_code", "assignee", "channel", "submitted_at", "received_at",
                                      "appointment_date", "step_role", "step_due_date", "version")},
    }


def _delivery_summary(delivery) -> dict | None:
    """The delivery as the citizen's view and the desk show it (DeliverySummarySchema)."""
    if delivery is None:
        return None
    return {name: getattr(delivery, name) for name in ("waybill", "carrier", "state", "attempts", "updated_at")}


def _outcome(dossier: Dossier) -> dict:
    return shared(ActionOutcomeSchema).dump({"dossier_code": dossier.code, "state": dossier.state, "version": dossier.version,
                                       "appointment_date": dossier.appointment_date})


def _prior_outcome(uow: UnitOfWork, key: str, fp: str) -> dict | None:
    return first_answer(repository.find_outcome(uow.session, key), fp, "command")
