"""The status service: the dossier lifecycle behind RabbitMQ. Thin: receive, call the domain, persist."""
from __future__ import annotations

import hashlib
import json
import logging

from marshmallow import ValidationError
from nameko.rpc import rpc
from prometheus_client import Counter

from motcua.db import UnitOfWork, utcnow
from motcua.dependencies import Database, WorkerContext
from motcua.errors import Conflict, MotCuaError, NotFound, PermanentFailure, ValidationFailed, marshmallow_fields
from motcua.logs import dossier_context
from motcua.messaging import event_handler
from motcua.national_codes import NATIONAL_STATUS_CODE
from motcua.web import OpsEndpoints
from motcua_contracts.status import ActionOutcomeSchema, DossierActionSchema, PublicDossierViewSchema
from status import repository
from status.domain import Actor, Change, Command, Dossier, register
from status.models import metadata

log = logging.getLogger(__name__)

TRANSITIONS = Counter("motcua_dossier_transitions_total", "Dossier lifecycle events recorded",
                      ["event_type", "agency", "channel"])
REGISTERED = Counter("motcua_dossiers_registered_total", "Dossiers registered from intake",
                     ["procedure", "agency", "channel"])


def fingerprint(dossier_code: str, command: dict) -> str:
    """sha256 of the canonical JSON of the command (loaded, so defaults are explicit) minus its key."""
    body = {k: v for k, v in DossierActionSchema().dump(command).items() if k != "idempotency_key"}
    canonical = json.dumps({"dossier_code": dossier_code, **body}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _outcome(d: Dossier) -> dict:
    return ActionOutcomeSchema().dump({"dossier_code": d.code, "state": d.state, "version": d.version,
                                       "appointment_date": d.appointment_date})


def _prior_outcome(uow: UnitOfWork, key: str, fp: str) -> dict | None:
    prior = repository.find_outcome(uow.session, key)
    if prior is not None and prior[0] != fp:
        raise Conflict("This idempotency key was already used for a different command.",
                       {"idempotency_key": ["Already used for a different command."]})
    return None if prior is None else prior[1]


class Service(OpsEndpoints):
    name = "status"
    db = Database(metadata)
    context = WorkerContext()

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        data, event_id = envelope["data"], str(envelope["event_id"])
        with dossier_context(data["dossier_code"]), self.db.unit_of_work() as uow:
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
            self._record(uow, dossier, changes)
            uow.commit()
            REGISTERED.labels(dossier.procedure_code, dossier.agency_code, dossier.channel).inc()
            self._count(dossier, changes)

    @rpc(expected_exceptions=MotCuaError)  # a refusal is the caller's problem: a warning, not an error
    def get_public_view(self, dossier_code: str, tracking_key: str) -> dict:
        """The citizen's view. An unknown code and a wrong key get the same answer: existence is not revealed."""
        with dossier_context(str(dossier_code)), self.db.unit_of_work() as uow:
            dossier = repository.find(uow.session, dossier_code) if isinstance(dossier_code, str) else None
            if dossier is None or not dossier.tracking_key_matches(tracking_key):
                raise NotFound("No dossier matches this code and tracking key.")
            history = repository.public_history(uow.session, dossier.code)
        return PublicDossierViewSchema().dump({
            "dossier_code": dossier.code, "procedure_code": dossier.procedure_code,
            "procedure_name": dossier.procedure_name, "state": dossier.state,
            "national_status_code": NATIONAL_STATUS_CODE[dossier.state],
            "holder_agency_code": dossier.holder_agency_code, "channel": dossier.channel,
            "submitted_at": dossier.submitted_at, "appointment_date": dossier.appointment_date,
            "history": history,
        })

    @rpc(expected_exceptions=MotCuaError)
    def apply_action(self, dossier_code: str, command: dict) -> dict:
        """Apply a command; a repeated idempotency key returns the first outcome and changes nothing."""
        if not isinstance(dossier_code, str):
            raise ValidationFailed("The dossier code must be a string.", {"dossier_code": ["Not a string."]})
        try:
            loaded = DossierActionSchema().load(command)
        except ValidationError as exc:
            raise ValidationFailed("The command has invalid fields.", marshmallow_fields(exc.messages)) from None
        cmd = Command(**{**loaded, "actor": Actor(**loaded["actor"]),
                         "missing_items": tuple(loaded["missing_items"] or ())})
        fp = fingerprint(dossier_code, loaded)
        with dossier_context(dossier_code):
            try:
                return self._apply(dossier_code, cmd, fp)
            except Conflict:
                # A twin with the same key may have committed meanwhile: then answer as it did.
                with self.db.unit_of_work() as uow:
                    prior = _prior_outcome(uow, cmd.idempotency_key, fp)
                if prior is None:
                    raise
                return prior

    def _apply(self, code: str, cmd: Command, fp: str) -> dict:
        with self.db.unit_of_work() as uow:
            prior = _prior_outcome(uow, cmd.idempotency_key, fp)
            if prior is not None:
                return prior
            dossier = repository.get(uow.session, code)
            read_version, now = dossier.version, utcnow()
            change = dossier.apply(cmd, now)
            repository.update(uow.session, dossier, read_version)
            outcome = _outcome(dossier)
            repository.add_outcome(uow.session, cmd.idempotency_key, code, fp, outcome, now)
            self._record(uow, dossier, [change])
            uow.commit()
        self._count(dossier, [change])
        return outcome

    @staticmethod
    def _record(uow: UnitOfWork, dossier: Dossier, changes: list[Change]) -> None:
        for change in changes:
            repository.add_history(uow.session, dossier.code, change.entry)
            uow.record_event(change.event.type, change.event.data, dossier_code=dossier.code)

    @staticmethod
    def _count(dossier: Dossier, changes: list[Change]) -> None:
        for change in changes:
            TRANSITIONS.labels(change.event.type, change.entry.agency_code, dossier.channel).inc()
            log.info("dossier %s: %s -> %s (%s)", dossier.code, change.entry.from_state, change.entry.to_state,
                     change.entry.action)
