"""intake: the dossier's intake behind RabbitMQ. Each entrypoint delegates to its use case in
intake.handlers with the service's ports: the database, the clock, the catalogue, the attachments, the settings."""
from __future__ import annotations

from functools import partial

from motcua.dependencies import BuiltAtStart, Clock, Database, WorkerContext
from motcua.messaging import event_handler
from motcua.rpc import TimedRpcProxy, rpc
from motcua.storage import attachment_store
from motcua.web import OpsEndpoints

from intake import handlers
from intake.models import metadata
from intake.settings import IntakeSettings
from intake.versions import VersionCache


class IntakeService(OpsEndpoints):
    name = "intake"
    db = Database(metadata)
    context = WorkerContext()
    clock = Clock()
    settings = BuiltAtStart(IntakeSettings.from_env)
    # Inside the gateway's call (10 s): shorter, so our 503 reaches it first.
    catalog = TimedRpcProxy("catalog", called="The catalogue", timeout_seconds=5)
    attachments = BuiltAtStart(partial(attachment_store, "intake"))  # local disk (INTAKE_ATTACHMENTS_DIR)
    versions = BuiltAtStart(VersionCache.from_env)  # the procedure versions in force, kept a while

    @rpc
    def submit_dossier(self, submission: dict, idempotency_key: str | None = None) -> dict:
        return handlers.submit_dossier(self.db, self.clock, self.catalog, self.versions, self.attachments,
                                       self.settings, submission, idempotency_key)

    @rpc
    def get_receipt(self, dossier_code: str, tracking_key: str) -> dict:
        return handlers.get_receipt(self.db, dossier_code, tracking_key)

    @rpc
    def submit_supplement(self, dossier_code: str, tracking_key: str, supplement: dict,
                          idempotency_key: str | None = None) -> dict:
        return handlers.submit_supplement(self.db, self.clock, self.attachments, self.settings, dossier_code,
                                          tracking_key, supplement, idempotency_key)

    @rpc
    def get_filed_dossier(self, dossier_code: str) -> dict:
        return handlers.get_filed_dossier(self.db, dossier_code)

    @rpc
    def read_attachment(self, dossier_code: str, attachment_id: str) -> dict:
        return handlers.read_attachment(self.db, self.attachments, dossier_code, attachment_id)

    @event_handler("catalog", "procedure_published")
    def on_procedure_published(self, envelope: dict) -> None:
        handlers.keep_published_version(self.db, self.versions, envelope)

    @event_handler("postal", "pickup_handed_over")
    def on_pickup_handed_over(self, envelope: dict) -> None:
        handlers.register_handover(self.db, self.catalog, self.versions, envelope)
