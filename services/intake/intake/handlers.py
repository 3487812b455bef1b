"""intake's use cases: plain functions over their ports, one per thing a caller asks of intake.

Each takes the unit-of-work factory (`db`), the clock, the catalogue client, the attachment store
and the settings it needs as arguments, so it runs the same in the nameko service (intake.service,
which only delegates) and in a unit test on SQLite with a stand-in catalogue.
"""
from __future__ import annotations

import base64
import logging
import uuid
from datetime import date

import sqlalchemy as sa
from marshmallow import ValidationError
from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError

from motcua.calendar import local_date
from motcua.db import Db, TimeSource, UnitOfWork
from motcua.errors import NotFound, PermanentFailure, ValidationFailed, marshmallow_fields, refusals_counted
from motcua.idempotency import check_key, first_answer
from motcua.logs import dossier_context
from motcua.procedures import Catalogue
from motcua.storage import AttachmentStore
from motcua.tracking import key_matches, new_tracking_key, reissued_tracking_key, request_hash, sha256_hex
from motcua_contracts.base import shared
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.intake import (
    AttachmentContentSchema, FiledDossierSchema, ReceiptSchema, SubmitDossierResultSchema, SubmitDossierSchema,
    SupplementResultSchema, SupplementSchema,
)

from intake import repository
from intake.domain.attachments import Attachment
from intake.domain.dossier import (
    Prepared, dossier_code, prepare, published_on, receipt, submitted_event, unknown_procedure,
)
from intake.domain.filed import filed_answers, filed_attachments
from intake.domain.handover import prepare_handover
from intake.domain.supplement import check_supplement, supplement_event, supplement_result
from intake.domain.tracking import unseal
from intake.settings import IntakeSettings
from intake.versions import VersionCache

log = logging.getLogger(__name__)

# The dossier's tracking key under an Idempotency-Key (motcua.tracking); the label keeps intake's keys apart.
TRACKING_KEY_LABEL = b"motcua.intake.tracking-key.v2:"

SUBMITTED = Counter("motcua_dossiers_submitted_total", "Dossiers accepted by intake",
                    ["procedure", "agency", "channel"])
REFUSED = Counter("motcua_intake_refusals_total", "Submissions refused by intake, by error code", ["reason"])
SUPPLEMENTS = Counter("motcua_supplements_submitted_total", "Citizens' supplements accepted by intake",
                      ["procedure", "agency"])


def submit_dossier(db: Db, clock: TimeSource, catalog: Catalogue, versions: VersionCache, attachments: AttachmentStore,
                   settings: IntakeSettings, submission: object, idempotency_key: object = None) -> dict:
    """SubmitDossierSchema in, SubmitDossierResultSchema out; the same key and body give the first result."""
    with refusals_counted(REFUSED):
        return _submit(db, clock, catalog, versions, attachments, settings, submission, idempotency_key)


def get_receipt(db: Db, dossier_code: object, tracking_key: object) -> dict:
    """ReceiptSchema dump; an unknown code and a wrong key are the same NotFound (no enumeration)."""
    return _dossier(db, dossier_code, tracking_key).receipt


def submit_supplement(db: Db, clock: TimeSource, attachments: AttachmentStore, settings: IntakeSettings,
                      dossier_code: object, tracking_key: object, supplement: object,
                      idempotency_key: object = None) -> dict:
    """SupplementSchema in, SupplementResultSchema out; `supplement_submitted` to the receiving agency.

    The tracking key opens the dossier as for get_receipt; the same key and body give the first
    result. Whether the dossier is awaiting a supplement is status's business (it owns the
    lifecycle): intake accepts the files and announces them, status decides what they mean.
    """
    with refusals_counted(REFUSED):
        return _supplement(db, clock, attachments, settings, dossier_code, tracking_key, supplement, idempotency_key)


def get_filed_dossier(db: Db, dossier_code: object) -> dict:
    """FiledDossierSchema dump of what the citizen filed: the applicant, the form's answers, where the result goes,
    and every file, with the dossier or in a supplement.

    No tracking key: only the gateway's desk asks, once status has let the official see the dossier.
    NotFound for an unknown dossier.
    """
    with db.unit_of_work() as uow:
        found = repository.find_dossier(uow.session, dossier_code) if isinstance(dossier_code, str) else None
        if found is None:
            raise NotFound("No dossier has this code.", {"dossier_code": ["No dossier has this code."]})
        rows = repository.find_attachments(uow.session, found.code)
        version = repository.find_version(uow.session, found.procedure_code, found.procedure_version)
    return shared(FiledDossierSchema).dump({
        "dossier_code": found.code, "applicant": found.applicant,
        "form": filed_answers(version["form_fields"], found.form), "return_method": found.return_method,
        "delivery_address": found.delivery_address, "attachments": filed_attachments(version["documents"], rows)})


def read_attachment(db: Db, attachments: AttachmentStore, dossier_code: object, attachment_id: object) -> dict:
    """One file of the dossier with its bytes (AttachmentContentSchema dump), for the desk as get_filed_dossier lists it.

    NotFound when the dossier has no file with this id: an unknown dossier, an unknown id, or another
    dossier's file.
    """
    with db.unit_of_work() as uow:
        row = (repository.find_attachment(uow.session, dossier_code, attachment_id)
               if isinstance(dossier_code, str) and isinstance(attachment_id, str) else None)
        if row is None:
            raise NotFound("This dossier has no attachment with this id.",
                           {"attachment_id": ["This dossier has no attachment with this id."]})
        documents = repository.find_version(uow.session, row["procedure_code"], row["procedure_version"])["documents"]
    with attachments.open(row["storage_key"]) as blob:
        content = blob.read()
    [listed] = filed_attachments(documents, [row])
    return shared(AttachmentContentSchema).dump({**listed, "content_base64": base64.b64encode(content).decode("ascii")})


def keep_published_version(db: Db, versions: VersionCache, envelope: dict) -> None:
    """catalog's `procedure_published`: an upsert of an immutable (code, version), so a redelivered event
    rewrites the same row."""
    procedure = envelope["data"]["procedure"]
    with db.unit_of_work() as uow:
        repository.store_version(uow.session, shared(ProcedureVersionSchema).dump(procedure))
        uow.commit()
    versions.forget(procedure["procedure_code"])


def register_handover(db: Db, catalog: Catalogue, versions: VersionCache, envelope: dict) -> None:
    """postal's `pickup_handed_over`: the carrier handed a paper dossier over at the counter; register it
    (channel postal).

    One dossier per pickup: a redelivery is stopped by the inbox, and the same handover
    announced again under another event id by the unique pickup_id.
    """
    handover, event_id = envelope["data"], str(envelope["event_id"])
    pickup_id = str(handover["pickup_id"])
    if (code := _code_by_pickup(db, pickup_id)) is not None:
        log.info("pickup %s was registered already as %s", pickup_id, code)
        return
    received_at = handover["handover"]["handed_over_at"]
    try:
        version = _version(db, catalog, versions, handover["procedure_code"], local_date(received_at))
    except NotFound as exc:
        # Retrying cannot publish a procedure: the dead letters show it to an operator.
        raise PermanentFailure(f"pickup {pickup_id}: {exc}") from exc
    prepared = prepare_handover(version, handover)
    with db.unit_of_work() as uow:
        if not uow.claim_message("intake.on_pickup_handed_over", event_id):
            return  # a redelivery: already registered
        if (code := repository.find_code_by_pickup(uow.session, pickup_id)) is not None:
            log.warning("pickup %s handed over again under event %s; %s stands", pickup_id, event_id, code)
            uow.commit()
            return
        code, _ = _register(uow, prepared, handover["tracking_key_hash"], [])
        uow.commit()
    SUBMITTED.labels(version["procedure_code"], prepared.agency_code, prepared.channel).inc()
    with dossier_context(code):
        log.info("postal dossier registered from pickup %s", pickup_id)


def _code_by_pickup(db: Db, pickup_id: str) -> str | None:
    with db.unit_of_work() as uow:
        return repository.find_code_by_pickup(uow.session, pickup_id)


def _submit(db: Db, clock: TimeSource, catalog: Catalogue, versions: VersionCache, attachments: AttachmentStore,
            settings: IntakeSettings, submission: dict, idempotency_key: str | None) -> dict:
    try:
        data = shared(SubmitDossierSchema).load(submission)
    except ValidationError as exc:
        raise ValidationFailed("The dossier has invalid fields.", marshmallow_fields(exc.messages)) from None
    check_key(idempotency_key)
    body_hash = request_hash(data)
    if (first := _replay(db, idempotency_key, body_hash)) is not None:
        return first
    received_at = clock()
    version = _version(db, catalog, versions, data["procedure_code"], local_date(received_at))
    prepared = prepare(version, data, received_at, settings.limits)
    # Before the transaction: a rollback then leaves an unreferenced blob, never a row without its file.
    storage_keys = [attachments.put(a.content) for a in prepared.attachments]
    try:
        result = _file(db, prepared, storage_keys, idempotency_key, body_hash)
    except IntegrityError:
        # The same key in flight twice: the twin committed first, so answer with its result.
        if (first := _replay(db, idempotency_key, body_hash)) is None:
            raise
        return first
    SUBMITTED.labels(version["procedure_code"], prepared.agency_code, prepared.channel).inc()
    return result


def _file(db: Db, prepared: Prepared, storage_keys: list[str], idempotency_key: str | None, body_hash: str) -> dict:
    """Code, dossier, attachments, idempotency record and event: one transaction."""
    tracking_key, salt = new_tracking_key(idempotency_key, TRACKING_KEY_LABEL)
    with db.unit_of_work() as uow:
        code, issued = _register(uow, prepared, sha256_hex(tracking_key), storage_keys)
        result = shared(SubmitDossierResultSchema).dump({
            "dossier_code": code, "tracking_key": tracking_key, "state": "submitted",
            "appointment_date": prepared.appointment_date, "receipt": issued})
        if idempotency_key is not None:
            repository.add_idempotency_record(
                uow.session, key_hash=sha256_hex(idempotency_key), request_hash=body_hash, dossier_code=code,
                response={k: v for k, v in result.items() if k != "tracking_key"},
                tracking_key_salt=salt)
        uow.commit()
    with dossier_context(code):
        log.info("dossier submitted")
    return result


def _register(uow: UnitOfWork, prepared: Prepared, key_hash: str, storage_keys: list[str]) -> tuple[str, dict]:
    """Code, dossier, attachments and `dossier_submitted` in the caller's transaction; (code, receipt)."""
    session, version = uow.session, prepared.version
    code = dossier_code(prepared, repository.next_sequence(session, prepared.agency_code, prepared.local_day))
    issued = receipt(prepared, code)
    repository.add_dossier(
        session, code=code, procedure_code=version["procedure_code"], procedure_version=version["version"],
        agency_code=prepared.agency_code, channel=prepared.channel, return_method=prepared.return_method,
        applicant=prepared.applicant, form=prepared.form, submitted_at=prepared.received_at,
        appointment_date=prepared.appointment_date, tracking_key_hash=key_hash,
        receipt=shared(ReceiptSchema).dump(issued), delivery_address=prepared.delivery_address,
        pickup_id=prepared.pickup_id)
    attachment_ids = repository.add_attachments(session, code, _rows(prepared.attachments, storage_keys))
    uow.record_event("dossier_submitted", submitted_event(prepared, code, key_hash, attachment_ids),
                     dossier_code=code)
    return code, issued


def _replay(db: Db, idempotency_key: str | None, body_hash: str) -> dict | None:
    """The first result for this key, None for a new key; Conflict for the key with another body."""
    if idempotency_key is None:
        return None
    with db.unit_of_work() as uow:
        record = repository.find_idempotency_record(uow.session, sha256_hex(idempotency_key))
    kept = None if record is None else (record.request_hash, record)
    if (first := first_answer(kept, body_hash, "submission")) is None:
        return None
    if first.tracking_key_salt is None:  # written before the salts (intake.domain.tracking)
        return dict(first.response, tracking_key=unseal(first.sealed_tracking_key, idempotency_key))
    return dict(first.response,
                tracking_key=reissued_tracking_key(idempotency_key, first.tracking_key_salt, TRACKING_KEY_LABEL))


def _dossier(db: Db, dossier_code: object, tracking_key: object) -> sa.Row:
    """The dossier the code and tracking key open; an unknown code and a wrong key are the same NotFound."""
    with db.unit_of_work() as uow:
        row = repository.find_dossier(uow.session, dossier_code) if isinstance(dossier_code, str) else None
    if not key_matches(tracking_key, row.tracking_key_hash if row else None):
        raise NotFound("No dossier has this code and tracking key.",
                       {"dossier_code": ["Check the dossier code and the tracking key on your receipt."]})
    return row


def _supplement(db: Db, clock: TimeSource, attachments_store: AttachmentStore, settings: IntakeSettings,
                dossier_code: str, tracking_key: str, supplement: dict, idempotency_key: str | None) -> dict:
    dossier = _dossier(db, dossier_code, tracking_key)  # first: a stranger learns nothing from the body's errors
    try:
        data = shared(SupplementSchema).load(supplement)
    except ValidationError as exc:
        raise ValidationFailed("The supplement has invalid fields.", marshmallow_fields(exc.messages)) from None
    check_key(idempotency_key)
    body_hash = request_hash(dict(data, dossier_code=dossier.code))  # a key reused on another dossier conflicts
    if (first := _supplement_replay(db, idempotency_key, body_hash)) is not None:
        return first
    with db.unit_of_work() as uow:
        pinned = repository.find_version(uow.session, dossier.procedure_code, dossier.procedure_version)
    documents = pinned["documents"]
    attachments = check_supplement(documents, data, settings.limits)
    # Before the transaction, as for a dossier: a rollback leaves only an unreferenced blob.
    storage_keys = [attachments_store.put(a.content) for a in attachments]
    received_at, supplement_id = clock(), str(uuid.uuid4())
    result = shared(SupplementResultSchema).dump(
        supplement_result(dossier.code, supplement_id, received_at, documents, attachments))
    try:
        with db.unit_of_work() as uow:
            repository.add_supplement(
                uow.session, id=supplement_id, dossier_code=dossier.code, note=data["note"],
                submitted_at=received_at, idempotency_key=idempotency_key, request_hash=body_hash, result=result)
            attachment_ids = repository.add_attachments(
                uow.session, dossier.code, _rows(attachments, storage_keys), supplement_id)
            uow.record_event("supplement_submitted", supplement_event(
                result, dossier.agency_code, received_at, data["note"], attachments, attachment_ids),
                dossier_code=dossier.code)
            uow.commit()
    except IntegrityError:
        # The same key in flight twice: the twin committed first, so answer with its result.
        if (first := _supplement_replay(db, idempotency_key, body_hash)) is None:
            raise
        return first
    SUPPLEMENTS.labels(dossier.procedure_code, dossier.agency_code).inc()
    with dossier_context(dossier.code):
        log.info("supplement submitted")
    return result


def _supplement_replay(db: Db, idempotency_key: str | None, body_hash: str) -> dict | None:
    """The first result for this key, None for a new key; Conflict for the key with another body."""
    if idempotency_key is None:
        return None
    with db.unit_of_work() as uow:
        row = repository.find_supplement(uow.session, idempotency_key)
    first = first_answer(None if row is None else (row.request_hash, row), body_hash, "supplement")
    return None if first is None else first.result


def _version(db: Db, catalog: Catalogue, versions: VersionCache, procedure_code: str, day: date) -> dict:
    """The published version a dossier filed on `day` is pinned to, loaded (and kept a while: intake.versions)."""
    def load() -> dict:
        with db.unit_of_work() as uow:
            definition = repository.current_version(uow.session, procedure_code, day)
        if definition is None:
            definition = _fetch_version(db, catalog, procedure_code, day)
        return shared(ProcedureVersionSchema).load(definition)

    return versions.loaded(procedure_code, day, load)


def _fetch_version(db: Db, catalog: Catalogue, procedure_code: str, day: date) -> dict:
    """A cache miss: one RPC to catalog, bounded in time, its answer kept for the next dossier."""
    try:
        answer = catalog.get_procedure(procedure_code)
    except NotFound:
        raise unknown_procedure(procedure_code) from None
    version = shared(ProcedureVersionSchema).load(answer)
    if not published_on(version, day):
        raise unknown_procedure(procedure_code)
    definition = shared(ProcedureVersionSchema).dump(version)
    with db.unit_of_work() as uow:
        repository.store_version(uow.session, definition)
        uow.commit()
    return definition


def _rows(attachments: list[Attachment], storage_keys: list[str]) -> list[dict]:
    """Attachment rows for the repository, each with the key of its stored bytes."""
    return [{"document_code": a.document_code, "filename": a.filename, "content_type": a.content_type,
             "size_bytes": a.size_bytes, "sha256": a.sha256, "storage_key": key}
            for a, key in zip(attachments, storage_keys)]
