"""postal: pickups, deliveries and the carrier's reports behind RabbitMQ. Each entrypoint delegates to its use
case in postal.handlers with the service's ports: the database, the clock, the catalogue, the carrier, the
settings."""
from __future__ import annotations

from motcua.dependencies import BuiltAtStart, Clock, Database, WorkerContext
from motcua.messaging import event_handler
from motcua.rpc import TimedRpcProxy, rpc
from motcua.web import OpsEndpoints, http, json_response
from postal import handlers
from postal.carrier import carrier_from_env
from postal.models import metadata
from postal.settings import PostalSettings


class PostalService(OpsEndpoints):
    name = "postal"
    db = Database(metadata)
    context = WorkerContext()
    clock = Clock()
    settings = BuiltAtStart(PostalSettings.from_env)
    # Inside the gateway's call (10 s): shorter, so our 503 reaches it first.
    catalog = TimedRpcProxy("catalog", called="The catalogue", timeout_seconds=5)
    carrier = BuiltAtStart(carrier_from_env)  # the configured carrier (postal.carrier)

    @rpc
    def quote_pickup(self, procedure_code: str, province: str) -> dict:
        return handlers.quote_pickup(self.catalog, self.settings, procedure_code, province)

    @rpc
    def book_pickup(self, booking: dict, idempotency_key: str | None = None) -> dict:
        return handlers.book_pickup(self.db, self.clock, self.catalog, self.carrier, self.settings, booking,
                                    idempotency_key)

    @rpc
    def get_pickup(self, pickup_id: str, tracking_key: str) -> dict:
        return handlers.get_pickup(self.db, pickup_id, tracking_key)

    @http("POST", "/callbacks/carrier")
    def carrier_callback(self, request):
        return json_response(handlers.receive_carrier_callback(
            self.db, self.clock, self.settings, request.get_data(), request.headers.get("X-Carrier-Signature")))

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        handlers.take_submitted_dossier(self.db, self.clock, envelope)

    @event_handler("status", "dossier_completed")
    def on_dossier_completed(self, envelope: dict) -> None:
        handlers.order_delivery(self.db, self.clock, self.carrier, self.settings, envelope)
