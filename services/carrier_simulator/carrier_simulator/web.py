"""The carrier API over HTTP (Werkzeug): orders as postal places them, and the control commands.

    POST /v1/orders                       CarrierOrderSchema -> 201 (200 for a known client_reference)
    GET  /v1/orders/{waybill}             the order, its state and the callbacks sent
    POST /v1/orders/{waybill}/advance     the next event of its scenario, sent now
    POST /v1/orders/{waybill}/events      {"event": ..., "sign": "good|bad|stale", ...callback fields}
    POST /v1/orders/{waybill}/replay      the last callback again, byte for byte
    GET  /healthz, /readyz                 (the same: a simulator depends on nothing)

Everything under /v1 needs `Authorization: Bearer <CARRIER_SIMULATOR_API_KEY>`.
"""
import hmac
import json

from marshmallow import ValidationError, fields, validate
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from carrier_simulator import rules
from carrier_simulator.simulator import Simulator
from motcua.errors import MalformedInput, MotCuaError, Unauthorized, marshmallow_fields
from motcua_contracts.postal import CarrierCallbackSchema, CarrierOrderAcceptedSchema, CarrierOrderSchema
from motcua_contracts.base import shared

SCENARIO_HEADER = "X-Simulator-Scenario"

ROUTES = Map([
    Rule("/healthz", methods=["GET"], endpoint="healthz"),
    Rule("/readyz", methods=["GET"], endpoint="healthz"),
    Rule("/v1/orders", methods=["POST"], endpoint="place"),
    Rule("/v1/orders/<waybill>", methods=["GET"], endpoint="order"),
    Rule("/v1/orders/<waybill>/advance", methods=["POST"], endpoint="advance"),
    Rule("/v1/orders/<waybill>/events", methods=["POST"], endpoint="emit"),
    Rule("/v1/orders/<waybill>/replay", methods=["POST"], endpoint="replay"),
])


class EmitSchema(CarrierCallbackSchema):
    """The events command: a callback's fields, all optional but the event, and how to sign it."""

    event_id = fields.String(validate=validate.Length(min=1, max=64))
    occurred_at = fields.AwareDateTime()
    sign = fields.String(validate=validate.OneOf(rules.SIGNATURES))


_emit_schema = EmitSchema(exclude=("waybill", "client_reference"))


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _json_body(request: Request) -> dict:
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise MalformedInput("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise MalformedInput("The body must be a JSON object.")
    return body


def create_app(simulator: Simulator):
    api_key = simulator.settings.api_key.encode()

    def place(request: Request) -> Response:
        try:
            order = shared(CarrierOrderSchema).load(_json_body(request))
        except ValidationError as exc:
            raise MalformedInput("The order is not valid.", marshmallow_fields(exc.messages)) from None
        created, view = simulator.place(shared(CarrierOrderSchema).dump(order), request.headers.get(SCENARIO_HEADER))
        accepted = shared(CarrierOrderAcceptedSchema).dump(view)
        return json_response(accepted, 201 if created else 200)

    def emit(request: Request, waybill: str) -> Response:
        raw = _json_body(request)
        try:
            loaded = _emit_schema.load(raw)
        except ValidationError as exc:
            raise MalformedInput("The event command is not valid.", marshmallow_fields(exc.messages)) from None
        command = {name: value for name, value in loaded.items() if name in raw}  # not the schema's defaults
        signature = command.pop("sign", None) or request.args.get("signature", "good")
        if signature not in rules.SIGNATURES:
            raise MalformedInput("Unknown signature option.", {"signature": [f"One of {rules.SIGNATURES}."]})
        event = command.pop("event")
        return json_response(simulator.emit(waybill, event, signature, command))

    handlers = {
        "healthz": lambda request: json_response({"status": "ok"}),
        "place": place,
        "order": lambda request, waybill: json_response(simulator.order(waybill)),
        "advance": lambda request, waybill: json_response(simulator.advance(waybill)),
        "emit": emit,
        "replay": lambda request, waybill: json_response(simulator.replay(waybill)),
    }

    def authorized(request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(token.encode(), api_key)

    @Request.application
    def app(request: Request) -> Response:
        try:
            endpoint, arguments = ROUTES.bind_to_environ(request.environ).match()
            if endpoint != "healthz" and not authorized(request):
                raise Unauthorized("A valid Bearer API key is required.")
            return handlers[endpoint](request, **arguments)
        except MotCuaError as error:
            return json_response(error.to_dict(), error.http_status)
        except HTTPException as error:
            return json_response({"error": {"code": error.name.lower().replace(" ", "_"),
                                            "message": error.description, "fields": {}}}, error.code)

    return app
