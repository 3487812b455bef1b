"""The notify service: dossier and postal events become notifications, sent and recorded. Each entrypoint
delegates to its use case in notify.handlers with the service's ports: the database, the clock, the settings,
the agencies' names (from catalog, kept by notify.agencies) and the sender (notify.sending.Outbound) with its
own settings."""
from __future__ import annotations

from nameko.timer import Timer

from motcua.dependencies import BuiltAtStart, Clock, Database, WorkerContext
from motcua.messaging import event_handler
from motcua.rpc import TimedRpcProxy, rpc
from motcua.web import OpsEndpoints, http, json_response
from notify import handlers
from notify.agencies import AgencyNames
from notify.models import metadata
from notify.sending import Outbound
from notify.settings import NotifySettings


class SendTimer(Timer):
    """nameko's timer, its interval (NotifySettings.send_interval_seconds) read when a container is built, not
    at import: a timer's interval is fixed before the container's dependencies are set up."""

    def __init__(self, **kwargs):
        super().__init__(interval=NotifySettings.from_env().send_interval_seconds, **kwargs)


class NotifyService(OpsEndpoints):
    name = "notify"
    db = Database(metadata)
    context = WorkerContext()
    outbound = Outbound()
    clock = Clock()
    settings = BuiltAtStart(NotifySettings.from_env)
    catalog = TimedRpcProxy("catalog", called="The catalogue", timeout_seconds=5)
    agencies = BuiltAtStart(AgencyNames)

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        handlers.record_recipient(self.db, self.clock, self.settings, self.outbound.settings, self._agency_name,
                                  envelope)
        self.outbound.dispatch_soon(self.db, self.clock)

    @event_handler("postal", "pickup_booked")
    def on_pickup_booked(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("postal", "pickup_collected")
    def on_pickup_collected(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("postal", "pickup_collection_failed")
    def on_pickup_collection_failed(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("status", "dossier_received")
    def on_dossier_received(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "supplement_requested")
    def on_supplement_requested(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_refused")
    def on_dossier_refused(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_overdue")
    def on_dossier_overdue(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_completed")
    def on_dossier_completed(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("postal", "result_shipped")
    def on_result_shipped(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "delivery_attempt_failed")
    def on_delivery_attempt_failed(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "result_delivered")
    def on_result_delivered(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "result_returned_to_sender")
    def on_result_returned_to_sender(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @SendTimer.decorator
    def send_due(self) -> None:
        self.outbound.dispatch(self.db, self.clock)

    @http("POST", "/callbacks/sms-delivery")
    def sms_delivery_receipt(self, request):
        return json_response(handlers.receive_sms_receipt(
            self.db, self.clock, self.settings, request.get_data(), request.headers.get("X-Signature")))

    @rpc
    def notification_log(self, dossier_code: str) -> list[dict]:
        return handlers.notification_log(self.db, dossier_code)

    @rpc
    def set_preferences(self, dossier_code: str, tracking_key: str, prefs: dict) -> dict:
        return handlers.set_preferences(self.db, dossier_code, tracking_key, prefs)

    def _notify(self, producer: str, envelope: dict) -> None:
        handlers.notify_dossier(self.db, self.clock, self.settings, self.outbound.settings, self._agency_name,
                                producer, envelope)
        self.outbound.dispatch_soon(self.db, self.clock)

    def _notify_pickup(self, envelope: dict) -> None:
        handlers.notify_pickup(self.db, self.clock, self.settings, self.outbound.settings, self._agency_name,
                               envelope)
        self.outbound.dispatch_soon(self.db, self.clock)

    def _agency_name(self, code: str) -> str | None:
        return self.agencies.name_of(code, self.catalog.list_agencies, self.clock())
