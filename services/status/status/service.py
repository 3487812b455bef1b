"""The status service: the dossier lifecycle behind RabbitMQ. Each entrypoint delegates to its use case
in status.handlers (status.reports for the reports, status.overdue for the sweep) with the service's
ports: the database, the clock, the settings, the result store."""
from __future__ import annotations

from functools import partial

from motcua.dependencies import BuiltAtStart, Clock, Database, WorkerContext
from motcua.messaging import command_handler, event_handler
from motcua.rpc import rpc
from motcua.storage import attachment_store
from motcua.web import OpsEndpoints
from motcua_contracts.departments import COMMANDS_EXCHANGE, COMMANDS_QUEUE
from status import handlers, overdue, reports
from status.gauges import DOSSIER_GAUGES
from status.models import metadata
from status.overdue import SweepTimer
from status.settings import StatusSettings


class StatusService(OpsEndpoints):
    name = "status"
    db = Database(metadata, gauges=DOSSIER_GAUGES)
    context = WorkerContext()
    clock = Clock()
    settings = BuiltAtStart(StatusSettings.from_env)
    results = BuiltAtStart(partial(attachment_store, "status"))  # result documents (STATUS_ATTACHMENTS_DIR)

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        handlers.register_dossier(self.db, envelope)

    @event_handler("intake", "supplement_submitted")
    def on_supplement_submitted(self, envelope: dict) -> None:
        handlers.take_supplement(self.db, self.clock, envelope)

    # The result's journey by post (postal.events): one handler per event type, one rule for all.
    @event_handler("postal", "delivery_ordered")
    def on_delivery_ordered(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @event_handler("postal", "result_shipped")
    def on_result_shipped(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @event_handler("postal", "delivery_out_for_delivery")
    def on_delivery_out_for_delivery(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @event_handler("postal", "delivery_attempt_failed")
    def on_delivery_attempt_failed(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @event_handler("postal", "result_delivered")
    def on_result_delivered(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @event_handler("postal", "result_returned_to_sender")
    def on_result_returned_to_sender(self, envelope: dict) -> None:
        handlers.follow_delivery(self.db, envelope)

    @command_handler(COMMANDS_EXCHANGE, COMMANDS_QUEUE, "department", "department_command")
    def on_department_command(self, envelope: dict, routing_key: str, errors: dict | None) -> None:
        handlers.handle_department_command(self.db, self.clock, envelope, routing_key, errors)

    @rpc
    def get_public_view(self, dossier_code: str, tracking_key: str) -> dict:
        return handlers.public_view(self.db, dossier_code, tracking_key)

    @rpc
    def apply_action(self, dossier_code: str, command: dict) -> dict:
        return handlers.apply_action(self.db, self.clock, dossier_code, command)

    @rpc
    def desk_list(self, official: dict, query: dict) -> dict:
        return handlers.desk_list(self.db, self.clock, self.settings, official, query)

    @rpc
    def desk_get(self, official: dict, dossier_code: str) -> dict:
        return handlers.desk_get(self.db, self.clock, self.settings, official, dossier_code)

    @rpc
    def desk_action(self, official: dict, dossier_code: str, command: dict, idempotency_key: str) -> dict:
        return handlers.desk_action(self.db, self.clock, self.settings, self.results, official, dossier_code,
                                    command, idempotency_key)

    @rpc
    def revoke_token(self, token_id: str, expires_at: str) -> dict:
        return handlers.revoke_token(self.db, token_id, expires_at)

    @rpc
    def report_on_time(self, official: dict, query: dict) -> dict:
        return reports.report_on_time(self.db, self.clock, official, query)

    @rpc
    def export_national(self, official: dict, query: dict) -> list:
        return reports.export_national(self.db, self.clock, official, query)

    @SweepTimer.decorator
    def sweep_overdue(self) -> None:
        overdue.sweep_overdue(self.db, self.clock, self.settings)
