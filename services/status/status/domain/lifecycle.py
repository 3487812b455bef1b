"""The dossier state machine (docs/architecture.md section 4).

`Dossier.apply` checks an action against the transition table and its required inputs,
then changes the aggregate and returns the history entry and the event it produced. A
refused action raises before anything is touched, so a refusal changes nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from motcua.calendar import default_calendar
from motcua.errors import Conflict, IllegalTransition, ValidationFailed
from motcua.tracking import key_matches
from motcua.national_codes import CLOCK, NATIONAL_STATUS_CODE, Channel, ClockState, DossierState
from status.domain import workflow
from status.domain.deadlines import apology_reason, needs_apology
from status.domain.desk import APOLOGY_TEMPLATE
from status.domain.workflow import Step



@dataclass(frozen=True)
class Rule:
    sources: frozenset[DossierState]
    target: DossierState
    event_type: str


def _rule(sources: Iterable[DossierState], target: DossierState, event_type: str) -> Rule:
    return Rule(frozenset(sources), target, event_type)


_WORKING = (DossierState.RECEIVED, DossierState.IN_PROGRESS)
_OPEN = (*_WORKING, DossierState.AWAITING_SUPPLEMENT, DossierState.AWAITING_PAYMENT)

RULES: Mapping[str, Rule] = MappingProxyType({
    "accept": _rule({DossierState.SUBMITTED}, DossierState.RECEIVED, "dossier_received"),
    "refuse": _rule({DossierState.SUBMITTED}, DossierState.REFUSED, "dossier_refused"),
    "assign": _rule(_WORKING, DossierState.IN_PROGRESS, "dossier_assigned"),
    "transfer": _rule(_WORKING, DossierState.IN_PROGRESS, "dossier_transferred"),
    "request_supplement": _rule(_WORKING, DossierState.AWAITING_SUPPLEMENT, "supplement_requested"),
    "receive_supplement": _rule({DossierState.AWAITING_SUPPLEMENT}, DossierState.IN_PROGRESS, "supplement_received"),
    "request_payment": _rule({DossierState.IN_PROGRESS}, DossierState.AWAITING_PAYMENT, "payment_requested"),
    "record_payment": _rule({DossierState.AWAITING_PAYMENT}, DossierState.IN_PROGRESS, "payment_recorded"),
    "complete": _rule({DossierState.IN_PROGRESS}, DossierState.COMPLETED, "dossier_completed"),
    "stop": _rule(_OPEN, DossierState.STOPPED, "dossier_stopped"),
    "return_result": _rule({DossierState.COMPLETED}, DossierState.RETURNED, "dossier_returned"),
    "withdraw": _rule({DossierState.SUBMITTED, *_OPEN}, DossierState.WITHDRAWN, "dossier_withdrawn"),
})
# No action leaves these: the dossier's life is over.
FINAL_STATES: frozenset[DossierState] = frozenset(
    state for state in DossierState if not any(state in rule.sources for rule in RULES.values()))
# What an official may start at the desk, from which states (receive_supplement is the citizen's).
DESK_SOURCES: Mapping[str, frozenset[DossierState]] = MappingProxyType(
    {action: rule.sources for action, rule in RULES.items() if action != "receive_supplement"})
REGISTER_EVENT = "dossier_registered"
# A carrier takes part in one action: handing the result over at the citizen's door.
CARRIER_ACTIONS = frozenset({"return_result"})

# The action-specific inputs each action takes; any other one sent is refused, not dropped.
_INPUTS = {"assign": "assignee", "transfer": "to_agency_code", "request_supplement": "missing_items",
           "request_payment": "fee_vnd", "complete": "result_document", "receive_supplement": "supplement"}


@dataclass(frozen=True)
class Actor:
    kind: str  # motcua_contracts.common.ACTOR_KINDS
    id: str | None = None
    agency_code: str | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Command:
    action: str
    actor: Actor
    idempotency_key: str | None = None
    reason: str | None = None
    to_agency_code: str | None = None
    assignee: str | None = None
    missing_items: tuple[str, ...] = ()
    fee_vnd: int | None = None
    expected_version: int | None = None
    result_document: Mapping[str, Any] | None = None  # stored already: filename, sha256, size_bytes, storage_key
    supplement: Mapping[str, Any] | None = None  # what the citizen sent (JSON-ready), kept in the history


@dataclass(frozen=True)
class ClockPause:
    started_at: datetime
    reason: str  # the paused state: awaiting_supplement or awaiting_payment
    ended_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    seq: int  # the dossier version this entry produced: one entry per version
    at: datetime
    action: str
    from_state: DossierState | None
    to_state: DossierState
    agency_code: str  # the agency holding the dossier when the action happened
    actor: Actor
    reason: str | None
    idempotency_key: str | None
    details: Mapping[str, Any]  # JSON-ready
    public: bool  # shown to the citizen: the state or the holder changed


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]  # motcua_contracts.status: DossierTransitionSchema, or DossierOverdueSchema for an apology


@dataclass(frozen=True)
class Change:
    entry: HistoryEntry
    event: Event


def time_in_states_left(entered_at: datetime | None,
                        entries: Iterable[HistoryEntry]) -> list[tuple[DossierState, timedelta]]:
    """How long the dossier stayed in each state these entries (in order) made it leave, given when it entered
    the state the first of them found it in: None when that is unknown (a dossier being registered was in no
    state; one loaded without its history has none to tell), and that stay is not measured."""
    stays = []
    for entry in entries:
        if entry.from_state == entry.to_state:
            continue  # an action within the state: an assignment, a transfer, an apology
        if entry.from_state is not None and entered_at is not None:
            stays.append((entry.from_state, entry.at - entered_at))
        entered_at = entry.at
    return stays


def _filled(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def given_name(full_name: str) -> str:
    """The given name (last word of a Vietnamese full name): all status keeps of the applicant."""
    words = full_name.split()
    return words[-1] if words else ""


@dataclass
class Dossier:
    code: str
    procedure_code: str
    procedure_name: str
    procedure_version: int
    agency_code: str  # the receiving agency
    holder_agency_code: str
    channel: str
    return_method: str
    tracking_key_hash: str
    applicant_given_name: str
    submitted_at: datetime
    appointment_date: date
    time_limit_working_days: Decimal
    cutoff_hour: time
    state: DossierState = DossierState.SUBMITTED
    version: int = 0
    received_at: datetime | None = None
    assignee: str | None = None
    supplement_requests: int = 0
    counted_overdue: bool = False
    completed_at: datetime | None = None
    returned_at: datetime | None = None
    updated_at: datetime | None = None
    pauses: list[ClockPause] = field(default_factory=list)
    workflow: tuple[Step, ...] = ()  # empty when the procedure has none
    fees: tuple[dict, ...] = ()  # the schedule's fees for the dossier's channel (DossierFeeSchema)
    step_index: int | None = None  # the workflow's current step, once accepted
    step_role: str | None = None
    step_due_date: date | None = None
    # The legally due date: starts as the appointment date and moves with the clock's pauses as it
    # does, but an apology's new appointment date never moves it (the on-time KPI is measured on it).
    legal_due_date: date | None = None
    result_document: Mapping[str, Any] | None = None
    overdue_since: date | None = None

    def __post_init__(self) -> None:
        if self.legal_due_date is None:
            self.legal_due_date = self.appointment_date

    def paused_working_days(self, now: datetime) -> int:
        """Working days the clock has been paused so far (an open pause counts up to `now`)."""
        return default_calendar().paused_working_days((p.started_at, p.ended_at or now) for p in self.pauses)

    def tracking_key_matches(self, tracking_key: object) -> bool:
        return key_matches(tracking_key, self.tracking_key_hash)

    def apply(self, command: Command, now: datetime) -> Change:
        """Apply one action at `now`; raise (changing nothing) if it is not allowed."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")  # checked first: the calendar would refuse it midway
        rule = RULES.get(command.action)
        if rule is None:
            raise ValidationFailed(f"Unknown action {command.action!r}.", {"action": ["Unknown action."]})
        self._check_version(command.expected_version)
        if self.state not in rule.sources:
            allowed = ", ".join(sorted(rule.sources))
            raise IllegalTransition(f"Cannot {command.action} dossier {self.code} in state {self.state}; "
                                    f"{command.action} is allowed only from: {allowed}.")
        self._check_inputs(command)
        from_state, acting_agency = self.state, self.holder_agency_code
        details = self._effects(command, rule.target, now)
        self.state, self.version, self.updated_at = rule.target, self.version + 1, now
        return self._change(command.action, from_state, acting_agency, command.actor, now, rule.event_type,
                            reason=command.reason, key=command.idempotency_key, details=details)

    def record_supplement(self, supplement: Mapping[str, Any], actor: Actor, now: datetime,
                          key: str | None = None) -> HistoryEntry:
        """A supplement that arrived while none was awaited: kept in the history, the state unchanged."""
        self.version, self.updated_at = self.version + 1, now
        return self._entry("record_supplement", self.state, self.holder_agency_code, actor, now, key=key,
                           details={"supplement": dict(supplement)})

    def collect_at_counter(self, actor: Actor, now: datetime, *, reason: str, key: str | None,
                           details: Mapping[str, Any]) -> HistoryEntry | None:
        """The carrier brought an undelivered result back: it waits at the counter, the state unchanged.

        None when that changes nothing: not completed (the result already reached the citizen), or
        to be collected at the counter already.
        """
        if self.state is not DossierState.COMPLETED or self.return_method == "counter":
            return None
        previous, self.return_method = self.return_method, "counter"
        self.version, self.updated_at = self.version + 1, now
        entry = self._entry("collect_at_counter", self.state, self.holder_agency_code, actor, now, reason=reason,
                            key=key, details={**details, "previous_return_method": previous,
                                              "return_method": self.return_method})
        return replace(entry, public=True)  # the citizen learns where to collect the result

    def apologise(self, today: date, new_appointment_date: date, actor: Actor, now: datetime) -> Change:
        """The agency apologises (template 04) for a dossier past both its promised and its legal date: the
        citizen gets a new appointment date; the legal due date stays, and the dossier counts as late from
        the day after it. Refused (changing nothing) when the dossier needs no apology `today`."""
        if not needs_apology(self.legal_due_date, self.appointment_date, self.state, today):
            raise IllegalTransition(f"Dossier {self.code} needs no apology on {today}: it is {self.state}, "
                                    f"promised for {self.appointment_date}, legally due {self.legal_due_date}.")
        original, reason = self.appointment_date, apology_reason(self.appointment_date)
        self.appointment_date = new_appointment_date
        # Late from the day after its legal due date, however long the sweep was down.
        self.overdue_since = self.overdue_since or self.legal_due_date + timedelta(days=1)
        self.version, self.updated_at = self.version + 1, now
        entry = self._entry("apology", self.state, self.holder_agency_code, actor, now, reason=reason, details={
            "template": APOLOGY_TEMPLATE, "original_appointment_date": original.isoformat(),
            "new_appointment_date": new_appointment_date.isoformat()})
        return Change(replace(entry, public=True), Event("dossier_overdue", {  # the citizen sees the new date
            "dossier_code": self.code, "procedure_code": self.procedure_code, "agency_code": self.holder_agency_code,
            "state": self.state, "original_appointment_date": original, "new_appointment_date": new_appointment_date,
            "reason": reason,
        }))

    def current(self) -> dict[str, Any]:
        """The fresh view a refused concurrent writer needs to retry."""
        return {"state": self.state.value, "version": self.version, "holder_agency_code": self.holder_agency_code,
                "assignee": self.assignee}

    def _check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise Conflict(f"Dossier {self.code} was changed by someone else (version {self.version}, "
                           f"expected {expected}); reload.", {"current": self.current()})

    def _check_inputs(self, command: Command) -> None:
        errors: dict[str, list[str]] = {}

        def need(name: str, ok: bool, message: str) -> None:
            if not ok:
                errors[name] = [message]

        for action, name in _INPUTS.items():
            if action != command.action and getattr(command, name) not in (None, ()):
                errors[name] = [f"Not an input of {command.action}."]
        if command.actor.kind == "carrier":
            need("actor.kind", command.action in CARRIER_ACTIONS, "A carrier only returns the result (return_result).")
        match command.action:
            case "refuse" | "stop":
                need("reason", _filled(command.reason), f"A reason is required to {command.action} a dossier.")
            case "assign":
                need("assignee", _filled(command.assignee), "Say who the dossier is assigned to.")
            case "transfer":
                need("to_agency_code", _filled(command.to_agency_code), "Say which agency the dossier goes to.")
                if _filled(command.to_agency_code):
                    need("to_agency_code", command.to_agency_code != self.holder_agency_code,
                         f"The dossier is already held by {self.holder_agency_code}.")
            case "request_supplement":
                need("missing_items", bool(command.missing_items) and all(map(_filled, command.missing_items)),
                     "List the missing documents.")
                if self.supplement_requests:
                    need("reason", _filled(command.reason),
                         "A second supplement request needs a reason; it counts the dossier as overdue.")
            case "request_payment":
                need("fee_vnd", command.fee_vnd is not None and command.fee_vnd > 0, "Give the fee due in VND.")
            case "withdraw":
                # The applicant withdraws; an official records a withdrawal handed in at the counter.
                need("actor.kind", command.actor.kind in ("citizen", "official"),
                     "Only the applicant withdraws a dossier, or an official records it.")
                if command.actor.kind == "official":
                    need("reason", _filled(command.reason), "Say how the applicant asked to withdraw.")
            case "complete":
                # An official attaches the result; a department system keeps it in its own system.
                if command.actor.kind == "official":
                    need("result_document", command.result_document is not None, "Attach the result document.")
        if errors:
            raise ValidationFailed(f"Cannot {command.action} dossier {self.code} in state {self.state}: "
                                   "missing or invalid input.", errors)

    def _effects(self, command: Command, target: DossierState, now: datetime) -> dict[str, Any]:
        """Change the dossier for `c` (inputs already checked); returns the history details."""
        calendar = default_calendar()
        details: dict[str, Any] = {}
        if CLOCK[self.state] is ClockState.PAUSED:
            pause = self.pauses[-1]
            self.pauses[-1] = replace(pause, ended_at=now)
            if CLOCK[target] is ClockState.RUNNING:
                # The citizen's time does not count against the agency: the due dates move by it.
                days = calendar.paused_working_days([(pause.started_at, now)])
                details.update(paused_working_days=days, previous_appointment_date=self.appointment_date.isoformat())
                self.appointment_date = calendar.extend(self.appointment_date, days)
                self.legal_due_date = calendar.extend(self.legal_due_date, days)
                if self.step_due_date is not None:
                    self.step_due_date = calendar.extend(self.step_due_date, days)
                details["appointment_date"] = self.appointment_date.isoformat()
        if CLOCK[target] is ClockState.PAUSED:
            self.pauses.append(ClockPause(now, target.value))
        match command.action:
            case "accept":
                self.received_at = now
                if self.channel == Channel.ONLINE:
                    # Online, the legal time limit counts from the official's acceptance, not submission.
                    self.appointment_date = calendar.appointment_date(
                        now, self.time_limit_working_days, self.cutoff_hour)
                self.legal_due_date = self.appointment_date
                details["appointment_date"] = self.appointment_date.isoformat()
                if self.workflow:
                    self._enter_step(0, now)
            case "assign":
                self.assignee = details["assignee"] = command.assignee
            case "transfer":
                details.update(from_agency_code=self.holder_agency_code, to_agency_code=command.to_agency_code)
                if self.step_index is not None:
                    step = workflow.next_step(self.workflow, self.step_index, command.to_agency_code)
                    if step is None:
                        details["route"] = "deviation"  # the official's choice, off the workflow (the history's word)
                    else:
                        details.update(route="template", step=step)
                        self._enter_step(step, now)
                self.holder_agency_code, self.assignee = command.to_agency_code, None  # the new agency assigns
            case "receive_supplement" if command.supplement is not None:
                details["supplement"] = dict(command.supplement)
            case "request_supplement":
                self.supplement_requests += 1
                details["missing_items"] = list(command.missing_items)
                if self.supplement_requests > 1:
                    # Only one request is allowed; the national scoring counts a second one as late.
                    self.counted_overdue = details["counted_overdue"] = True
            case "request_payment":
                details["fee_vnd"] = command.fee_vnd
            case "complete":
                self.completed_at = now
                if command.result_document is not None:
                    self.result_document = details["result_document"] = dict(command.result_document)
            case "return_result":
                self.returned_at = now
        return details

    def _enter_step(self, index: int, now: datetime) -> None:
        calendar = default_calendar()
        start = calendar.counting_start(self.received_at, self.cutoff_hour)
        self.step_index, self.step_role = index, self.workflow[index].role
        self.step_due_date = workflow.step_due_date(calendar, start, self.workflow, index,
                                                   self.paused_working_days(now))

    def _entry(self, action: str, from_state: DossierState | None, agency_code: str, actor: Actor,
               now: datetime, *, reason: str | None = None, key: str | None = None,
               details: dict[str, Any]) -> HistoryEntry:
        return HistoryEntry(
            seq=self.version, at=now, action=action, from_state=from_state, to_state=self.state,
            agency_code=agency_code, actor=actor, reason=reason, idempotency_key=key, details=details,
            public=from_state != self.state or agency_code != self.holder_agency_code,
        )

    def _change(self, action: str, from_state: DossierState | None, agency_code: str, actor: Actor,
                now: datetime, event_type: str, *, reason: str | None = None, key: str | None = None,
                details: dict[str, Any]) -> Change:
        entry = self._entry(action, from_state, agency_code, actor, now, reason=reason, key=key, details=details)
        data = {
            "dossier_code": self.code, "procedure_code": self.procedure_code, "action": action,
            "from_state": from_state, "to_state": self.state,
            "national_status_code": NATIONAL_STATUS_CODE[self.state], "agency_code": agency_code,
            "channel": self.channel, "actor": asdict(actor), "reason": reason,
            "appointment_date": self.appointment_date, "return_method": self.return_method,
            **{name: details.get(name) for name in ("to_agency_code", "assignee", "missing_items", "fee_vnd")},
        }
        return Change(entry, Event(event_type, data))


def register(submitted: Mapping[str, Any], message_id: str | None = None) -> tuple[Dossier, list[Change]]:
    """A dossier from intake's `dossier_submitted` data (already loaded by its contract schema).

    Counter and postal dossiers were checked against the document list when handed in, so
    the system accepts them at once, keeping the appointment intake issued.
    """
    try:
        cutoff = time.fromisoformat(submitted["cutoff_hour"])
    except ValueError:
        raise ValidationFailed("Bad cut-off hour.", {"cutoff_hour": ["Expected HH:MM."]}) from None
    at = submitted["submitted_at"]
    dossier = Dossier(
        code=submitted["dossier_code"], procedure_code=submitted["procedure_code"],
        procedure_name=submitted["procedure_name"], procedure_version=submitted["procedure_version"],
        agency_code=submitted["agency_code"], holder_agency_code=submitted["agency_code"],
        channel=submitted["channel"], return_method=submitted["return_method"],
        tracking_key_hash=submitted["tracking_key_hash"],
        applicant_given_name=given_name(submitted["applicant"]["full_name"]),
        submitted_at=at, appointment_date=submitted["appointment_date"],
        time_limit_working_days=Decimal(submitted["time_limit_working_days"]), cutoff_hour=cutoff,
        version=1, updated_at=at, workflow=workflow.from_json(submitted.get("workflow") or ()),
        fees=tuple(dict(fee) for fee in submitted.get("fees") or ()),
    )
    changes = [dossier._change("register", None, dossier.agency_code, SYSTEM, at, REGISTER_EVENT,
                               key=message_id, details={})]
    if dossier.channel != Channel.ONLINE:
        changes.append(dossier.apply(Command("accept", SYSTEM, idempotency_key=message_id), at))
    return dossier, changes
