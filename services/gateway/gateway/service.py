"""The gateway: the HTTP front door (REST API, OpenAPI, citizen portal). It owns nothing durable.

Each entrypoint parses the request (`gateway.inputs`), makes at most one RPC through a
proxy with a timeout (`gateway.clients`) and answers JSON or a page.
"""
from __future__ import annotations

import secrets

from werkzeug.wrappers import Request, Response

from motcua.dependencies import WorkerContext
from motcua.errors import NotFound
from motcua.web import OpsEndpoints, json_response

from gateway import inputs
from gateway.clients import BrokerProbe, TimedRpcProxy
from gateway.openapi import openapi_document
from gateway.ratelimit import LookupLimiter
from gateway.rendering import render
from gateway.web import api, page

NO_STORE = {"Cache-Control": "no-store"}  # dossier answers name a person: no shared cache keeps them


class Service(OpsEndpoints):
    name = "gateway"
    context = WorkerContext()
    broker = BrokerProbe()
    lookups = LookupLimiter()
    catalog = TimedRpcProxy("catalog")
    intake = TimedRpcProxy("intake")
    status = TimedRpcProxy("status")

    def ready(self) -> None:
        self.broker()

    # --- JSON API -------------------------------------------------------------------------

    @api("GET", "/api/v1/procedures")
    def search_procedures(self, request: Request) -> Response:
        return json_response(self.catalog.search_procedures(inputs.search_query(request.args)))

    @api("GET", "/api/v1/procedures/<code>")
    def get_procedure(self, request: Request, code: str) -> Response:
        return json_response(self.catalog.get_procedure(code))

    @api("POST", "/api/v1/dossiers")
    def submit_dossier(self, request: Request) -> Response:
        key = inputs.idempotency_key(request.headers.get("Idempotency-Key"))
        # A retry with the same key gets intake's first result, answered like the first time: 201.
        result = self.intake.submit_dossier(inputs.submission(request), key)
        return json_response(result, 201, {"Location": f"/api/v1/dossiers/{result['dossier_code']}", **NO_STORE})

    @api("GET", "/api/v1/dossiers/<code>")
    def get_dossier(self, request: Request, code: str) -> Response:
        return json_response(self._public_view(request, code, inputs.tracking_key(request)), headers=NO_STORE)

    @api("GET", "/api/v1/dossiers/<code>/receipt")
    def get_receipt(self, request: Request, code: str) -> Response:
        return json_response(self._receipt(request, code), headers=NO_STORE)

    @api("GET", "/api/v1/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    @api("GET,POST,PUT,PATCH,DELETE", "/api/<path:rest>")
    def api_not_found(self, request: Request, rest: str) -> Response:
        raise NotFound("There is no such API route.")  # in the one error shape, not Werkzeug's HTML

    # --- Citizen portal ---------------------------------------------------------------------

    @page("GET", "/")
    def home(self, request: Request) -> Response:
        query = inputs.search_query(request.args)
        return render("home.html", page=self.catalog.search_procedures(query), query=request.args.to_dict(),
                      q=query.get("q", ""), level=query.get("level", ""))

    @page("GET", "/thu-tuc/<code>")
    def procedure_page(self, request: Request, code: str) -> Response:
        return render("procedure.html", p=self.catalog.get_procedure(code), idempotency_key=secrets.token_urlsafe(16))

    @page("POST", "/thu-tuc/<code>")
    def submit_from_portal(self, request: Request, code: str) -> Response:
        submission = inputs.portal_submission(code, request.form, request.files)
        result = self.intake.submit_dossier(submission, inputs.idempotency_key(request.form.get("idempotency_key")))
        return render("submitted.html", 201, NO_STORE, result=result)

    @page("GET,POST", "/tra-cuu")
    def tracking_page(self, request: Request) -> Response:
        if request.method == "GET":
            return render("tracking.html", code="", key="", view=None, message=None)
        code, key = request.form.get("code", "").strip(), request.form.get("key", "").strip()
        if not code or not key:
            return render("tracking.html", 400, code=code, key="", view=None,
                          message="Hãy nhập mã hồ sơ và mã tra cứu.")
        try:
            view = self._public_view(request, code, key)
        except NotFound:
            return render("tracking.html", 404, NO_STORE, code=code, key="", view=None,
                          message="Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này.")
        return render("tracking.html", headers=NO_STORE, code=code, key=key, view=view, message=None)

    @page("GET", "/dossiers/<code>/receipt")
    def receipt_page(self, request: Request, code: str) -> Response:
        return render("receipt.html", headers=NO_STORE, r=self._receipt(request, code))

    @page("GET,POST", "/<path:rest>")
    def page_not_found(self, request: Request, rest: str) -> Response:
        raise NotFound("Trang này không tồn tại.")

    # --- Lookups: rate-limited per client, failures charged extra ------------------------------

    def _public_view(self, request: Request, code: str, key: str) -> dict:
        with self.lookups.guard(request):
            return self.status.get_public_view(inputs.dossier_code(code), key)

    def _receipt(self, request: Request, code: str) -> dict:
        key = inputs.tracking_key(request)
        with self.lookups.guard(request):
            return self.intake.get_receipt(inputs.dossier_code(code), key)
