"""The gateway: the HTTP front door (REST API, OpenAPI, citizen portal, officials' desk).
It owns nothing durable.

Each entrypoint verifies the official's token where it needs one (`gateway.auth`), parses
the request (`gateway.inputs`), makes one RPC through a proxy with a timeout (`gateway.clients`;
two where status must first check the tracking key or the official's access) and answers JSON,
a file or a page. What an official may see or do is
status's to decide: the gateway passes the verified official with every call.
"""
from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from motcua.rpc import TimedRpcProxy
from motcua.dependencies import WorkerContext
from motcua.errors import (
    Conflict, Forbidden, MalformedInput, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
)
from motcua.web import HealthEndpoints, MetricsPort, json_response

from gateway import desk_pages, inputs
from gateway.attachments import attachment_response
from gateway.auth import OfficialAuth
from gateway.clients import BrokerProbe
from gateway.exports import csv_response, named_report, ndjson_response, on_time_csv
from gateway.oidc import SignInFailed, official_from_claims
from gateway.openapi import openapi_document
from gateway.ratelimit import LookupLimiter
from gateway.portal_errors import input_errors
from gateway.rendering import render, static_file
from gateway.web import NO_STORE, api, desk, page

log = logging.getLogger(__name__)

DESK_NOT_FOUND = "No dossier matches this code."


class GatewayService(HealthEndpoints):
    name = "gateway"
    context = WorkerContext()
    metrics_port = MetricsPort()  # not /metrics on the public port
    broker = BrokerProbe()
    lookups = LookupLimiter()
    officials = OfficialAuth()
    catalog = TimedRpcProxy("catalog")
    intake = TimedRpcProxy("intake")
    status = TimedRpcProxy("status")
    notify = TimedRpcProxy("notify")
    postal = TimedRpcProxy("postal")

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

    @api("POST", "/api/v1/dossiers/<code>/supplements")
    def submit_supplement(self, request: Request, code: str) -> Response:
        key = inputs.tracking_key(request)
        idempotency_key = inputs.idempotency_key(request.headers.get("Idempotency-Key"))
        supplement = inputs.supplement(request)
        with self.lookups.guard(request):  # a code and key pair is tried here too: limited like lookups
            result = self.intake.submit_supplement(inputs.dossier_code(code), key, supplement, idempotency_key)
        return json_response(result, 202, NO_STORE)

    @api("PUT", "/api/v1/dossiers/<code>/notification-preferences")
    def set_notification_preferences(self, request: Request, code: str) -> Response:
        key = inputs.tracking_key(request)
        preferences = inputs.notification_preferences(request)
        with self.lookups.guard(request):  # a code and key pair is tried here too: limited like lookups
            result = self.notify.set_preferences(inputs.dossier_code(code), key, preferences)
        return json_response(result, headers=NO_STORE)

    @api("GET", "/api/v1/dossiers/<code>/notifications")
    def get_notifications(self, request: Request, code: str) -> Response:
        self._public_view(request, code, inputs.tracking_key(request))  # status checks the key: the same 404
        return json_response(self.notify.notification_log(code), headers=NO_STORE)

    # --- Postal pickups (Decision 45/2016/QD-TTg): the paper dossier collected at home ----------

    @api("GET", "/api/v1/pickups/quote")
    def quote_pickup(self, request: Request) -> Response:
        query = inputs.pickup_quote_query(request.args)
        return json_response(self.postal.quote_pickup(query["procedure_code"], query["province"]))

    @api("POST", "/api/v1/pickups")
    def book_pickup(self, request: Request) -> Response:
        key = inputs.idempotency_key(request.headers.get("Idempotency-Key"))
        result = self.postal.book_pickup(inputs.pickup_booking(request), key)
        return json_response(result, 201, {"Location": f"/api/v1/pickups/{result['pickup_id']}", **NO_STORE})

    @api("GET", "/api/v1/pickups/<pickup_id>")
    def get_pickup(self, request: Request, pickup_id: str) -> Response:
        return json_response(self._pickup(request, pickup_id, inputs.tracking_key(request, "pickup")),
                             headers=NO_STORE)

    # --- Officials' desk and reports: bearer token; status applies the permissions ----------

    @desk("GET", "/api/v1/desk/dossiers")
    def desk_list(self, request: Request) -> Response:
        official = self.officials.verify(request)
        return json_response(self.status.desk_list(official, inputs.desk_query(request.args)), headers=NO_STORE)

    @desk("GET", "/api/v1/desk/dossiers/<code>")
    def desk_get(self, request: Request, code: str) -> Response:
        official = self.officials.verify(request)
        return json_response(self.status.desk_get(official, inputs.dossier_code(code, DESK_NOT_FOUND)),
                             headers=NO_STORE)

    @desk("GET", "/api/v1/desk/dossiers/<code>/notifications")
    def desk_notifications(self, request: Request, code: str) -> Response:
        code = self._seen_by(self.officials.verify(request), code)
        return json_response(self.notify.notification_log(code), headers=NO_STORE)

    @desk("GET", "/api/v1/desk/dossiers/<code>/filed")
    def desk_filed(self, request: Request, code: str) -> Response:
        code = self._seen_by(self.officials.verify(request), code)
        return json_response(self.intake.get_filed_dossier(code), headers=NO_STORE)

    @desk("GET", "/api/v1/desk/dossiers/<code>/attachments/<attachment_id>")
    def desk_attachment(self, request: Request, code: str, attachment_id: str) -> Response:
        return self._desk_attachment(self.officials.verify(request), code, attachment_id)

    @desk("POST", "/api/v1/desk/dossiers/<code>/actions")
    def desk_action(self, request: Request, code: str) -> Response:
        official = self.officials.verify(request)
        key = inputs.required_idempotency_key(request.headers.get("Idempotency-Key"))
        command = inputs.desk_action(request)
        outcome = self.status.desk_action(official, inputs.dossier_code(code, DESK_NOT_FOUND), command, key)
        return json_response(outcome, headers=NO_STORE)

    @desk("GET", "/api/v1/reports/on-time")
    def report_on_time(self, request: Request) -> Response:
        official = self.officials.verify(request)
        as_format, query = inputs.report_format(request), inputs.report_query(request.args)
        report = named_report(self.status.report_on_time(official, query), self._agency_names())
        if as_format == "csv":
            return csv_response(on_time_csv(report), f"on-time_{query['from']}_{query['to']}_{query['group_by']}.csv")
        return json_response(report, headers=NO_STORE)

    @desk("GET", "/api/v1/reports/national-export")
    def national_export(self, request: Request) -> Response:
        official = self.officials.verify(request)
        query = inputs.report_query(request.args, ("date_from", "date_to"))
        records = self.status.export_national(official, query)
        return ndjson_response(records, f"national-export_{query['from']}_{query['to']}.ndjson")

    @api("GET", "/api/v1/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    @api("GET,POST,PUT,PATCH,DELETE", "/api/<path:rest>", fallback=True)
    def api_not_found(self, request: Request, rest: str) -> Response:
        raise NotFound("There is no such API route.")  # in the one error shape, not Werkzeug's HTML

    # --- Citizen portal ---------------------------------------------------------------------

    @page("GET", "/tep/<name>")
    def static(self, request: Request, name: str) -> Response:
        return static_file(name)

    @page("GET", "/")
    def home(self, request: Request) -> Response:
        query = inputs.search_query(inputs.filled(request.args))
        return render("home.html", page=self.catalog.search_procedures(query), query=request.args.to_dict(),
                      wanted=query, fields=self.catalog.list_fields(), agencies=self.catalog.list_agencies())

    @page("GET", "/thu-tuc/<code>")
    def procedure_page(self, request: Request, code: str) -> Response:
        return self._procedure_page(code)

    @page("POST", "/thu-tuc/<code>")
    def submit_from_portal(self, request: Request, code: str) -> Response:
        form, files = inputs.form_parts(request)
        key = inputs.idempotency_key(form.get("idempotency_key"))
        submission = None
        try:
            submission = inputs.portal_submission(code, form, files)
            result = self.intake.submit_dossier(submission, key)
        except (ValidationFailed, PayloadTooLarge, UnsupportedMediaType) as refused:
            # Next to the inputs, with what was typed kept (files cannot be: a browser never refills them).
            errors, general = input_errors(refused.fields or {}, _document_codes(submission))
            return self._procedure_page(code, refused.http_status, errors=errors, general=general, values=form)
        receipt = f"/dossiers/{quote(result['dossier_code'])}/receipt?key={quote(result['tracking_key'])}"
        return render("submitted.html", 201, NO_STORE, result=result, receipt=receipt)

    @page("GET,POST", "/tra-cuu")
    def tracking_page(self, request: Request) -> Response:
        # POST keeps the key out of the address bar; GET with both is the receipt's QR code.
        source = request.form if request.method == "POST" else request.args
        code, key = source.get("code", "").strip(), source.get("key", "").strip()
        if request.method == "GET" and not key:
            return render("tracking.html", code=code, key="", view=None, message=None)
        if not code or not key:
            return render("tracking.html", 400, code=code, key="", view=None,
                          message="Hãy nhập mã hồ sơ và mã tra cứu.")
        try:
            view = self._public_view(request, code, key)
        except NotFound:
            return render("tracking.html", 404, NO_STORE, code=code, key="", view=None,
                          message="Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này.")
        return self._tracking(view, key)

    @page("POST", "/tra-cuu/bo-sung")
    def supplement_from_portal(self, request: Request) -> Response:
        """The citizen's supplement from the tracking page: the files and a note, with the code and key."""
        form, files = inputs.form_parts(request)
        code, key = form.get("code", "").strip(), form.get("key", "").strip()
        idempotency_key = inputs.idempotency_key(form.get("idempotency_key"))
        view = self._public_view(request, code, key)  # an unknown code or a wrong key: the 404 page
        supplement = None
        try:
            supplement = inputs.portal_supplement(form, files)
            with self.lookups.guard(request):
                self.intake.submit_supplement(inputs.dossier_code(code), key, supplement, idempotency_key)
        except (ValidationFailed, PayloadTooLarge, UnsupportedMediaType) as refused:
            errors, general = input_errors(refused.fields or {}, _document_codes(supplement))
            return self._tracking(view, key, refused.http_status, supplement_errors=errors, general=general,
                                  values=form)
        return self._tracking(self._public_view(request, code, key), key, supplement_sent=True)

    @page("POST", "/buu-chinh/dat-lich")
    def book_pickup_from_portal(self, request: Request) -> Response:
        """Two steps: the form from the procedure page gets the quote and a confirmation page;
        the confirmation (with the quoted fee and a fresh idempotency key) books."""
        form, _ = inputs.form_parts(request)
        if "quoted_fee_vnd" not in form:
            booking = inputs.portal_booking(form, quoted=False)  # every field checked before the quote
            quote = self.postal.quote_pickup(booking["procedure_code"], booking["address"]["province"])
            fields = [(name, value) for name, value in form.items(multi=True) if name != "idempotency_key"]
            return render("pickup_confirm.html", headers=NO_STORE, booking=booking, quote=quote, fields=fields,
                          idempotency_key=secrets.token_urlsafe(16))
        booking = inputs.portal_booking(form)
        result = self.postal.book_pickup(booking, inputs.idempotency_key(form.get("idempotency_key")))
        return render("pickup_booked.html", 201, NO_STORE, result=result)

    @page("GET,POST", "/buu-chinh/tra-cuu")
    def pickup_tracking_page(self, request: Request) -> Response:
        if request.method == "GET":
            return render("pickup_tracking.html", pickup=request.args.get("pickup", "").strip(), key="", view=None,
                          message=None)
        pickup, key = request.form.get("pickup", "").strip(), request.form.get("key", "").strip()
        if not pickup or not key:
            return render("pickup_tracking.html", 400, pickup=pickup, key="", view=None,
                          message="Hãy nhập mã đặt lịch và mã tra cứu.")
        try:
            view = self._pickup(request, pickup, key)
        except MalformedInput:
            return render("pickup_tracking.html", 400, NO_STORE, pickup=pickup, key="", view=None,
                          message="Mã đặt lịch không đúng định dạng: hãy nhập đúng mã trong tin nhắn hoặc thư.")
        except NotFound:
            return render("pickup_tracking.html", 404, NO_STORE, pickup=pickup, key="", view=None,
                          message="Không tìm thấy lịch nhận hồ sơ với mã đặt lịch và mã tra cứu này.")
        return render("pickup_tracking.html", headers=NO_STORE, pickup=pickup, key=key, view=view, message=None)

    # --- Officials' desk in a browser: a sign-in session in a cookie; status applies the permissions ------

    @page("GET,POST", "/can-bo/dang-nhap")
    def sign_in_page(self, request: Request) -> Response:
        accounts = self.officials.accounts
        if self.officials.keys is None or (accounts is None and self.officials.provider is None):
            return self._sign_in_page(503, message="Đăng nhập cho cán bộ chưa được cấu hình.")
        if request.method == "GET":
            return self._sign_in_page()
        if accounts is None:
            return self._sign_in_page(400, message="Hãy đăng nhập bằng tài khoản công vụ của thành phố.")
        username = request.form.get("username", "").strip()
        try:
            with self.lookups.guard(request):  # guessing passwords is charged like guessing tracking keys
                account = accounts.sign_in(username, request.form.get("password", ""))
                if account is None:
                    raise NotFound("No official has this username and password.")
        except NotFound:
            return self._sign_in_page(401, username=username, message="Tên đăng nhập hoặc mật khẩu không đúng.")
        return desk_pages.start_session(self.officials, account)

    @page("GET", "/can-bo/dang-nhap/oidc")
    def provider_sign_in(self, request: Request) -> Response:
        """To the city's identity provider (gateway.oidc)."""
        if self.officials.provider is None or self.officials.keys is None:
            raise NotFound("Trang này không tồn tại.")
        return desk_pages.start_provider_sign_in(self.officials)

    @page("GET", "/can-bo/dang-nhap/oidc/ve")
    def provider_sign_in_callback(self, request: Request) -> Response:
        """Back from the identity provider: the code exchanged, the ID token verified, the session started."""
        provider = self.officials.provider
        if provider is None or self.officials.keys is None:
            raise NotFound("Trang này không tồn tại.")
        pending = desk_pages.pending_sign_in(request, self.officials)
        if pending is None:
            return self._sign_in_page(400, message="Lượt đăng nhập này đã hết hạn hoặc không bắt đầu từ trình duyệt "
                                                   "này; hãy đăng nhập lại.")
        try:
            official = official_from_claims(provider.finish(pending, request.args), provider.settings)
        except SignInFailed as failed:
            log.info("sign-in through the identity provider failed: %s", failed.code)
            return self._sign_in_page(401, message="Đăng nhập bằng tài khoản công vụ không thành công; hãy thử lại.")
        except Forbidden:
            return self._sign_in_page(403, message="Tài khoản công vụ này chưa được giao cơ quan hoặc vai trò trong "
                                                   "hệ thống Một cửa; hãy liên hệ quản trị hệ thống của đơn vị.")
        log.info("official %s of %s signed in through the identity provider", official.username, official.agency_code)
        return desk_pages.start_session(self.officials, official, through_provider=True)

    @page("POST", "/can-bo/dang-xuat")
    def sign_out(self, request: Request) -> Response:
        signed_in = desk_pages.session(request, self.officials)
        if signed_in is None:
            return desk_pages.end_session()
        official, claims = signed_in
        desk_pages.check_csrf(request.form, claims)
        self.status.revoke_token(official["token_id"], official["expires_at"])
        return desk_pages.end_session(claims, self.officials)

    @page("GET", "/can-bo/ho-so")
    def desk_list_page(self, request: Request) -> Response:
        if (signed_in := desk_pages.session(request, self.officials)) is None:
            return redirect(desk_pages.SIGN_IN, 303)
        official, claims = signed_in
        query = inputs.desk_query(inputs.filled(request.args))
        try:
            page = self.status.desk_list(official, query)
        except Unauthorized:  # signed out elsewhere (revoked) or expired: sign in again
            return desk_pages.end_session()
        return render("desk_list.html", headers=NO_STORE, official=official, csrf=claims["csrf"], page=page,
                      wanted=request.args.to_dict(), agencies=self._agency_names())

    @page("GET,POST", "/can-bo/ho-so/<code>")
    def desk_dossier_page(self, request: Request, code: str) -> Response:
        if (signed_in := desk_pages.session(request, self.officials)) is None:
            return redirect(desk_pages.SIGN_IN, 303)
        official, claims = signed_in
        code = inputs.dossier_code(code, DESK_NOT_FOUND)
        if request.method == "GET":
            try:
                return self._desk_dossier(official, claims, code, done=request.args.get("xong"))
            except Unauthorized:  # signed out elsewhere (revoked) or expired: sign in again
                return desk_pages.end_session()
        form, files = inputs.form_parts(request)
        desk_pages.check_csrf(form, claims)
        key = inputs.required_idempotency_key(form.get("idempotency_key"))
        try:
            self.status.desk_action(official, code, desk_pages.action_from_form(form, files), key)
        except (ValidationFailed, Conflict, Forbidden, PayloadTooLarge, UnsupportedMediaType) as refused:
            return self._desk_dossier(official, claims, code, refused.http_status, refused=refused,
                                      action=form.get("action"))
        return redirect(f"/can-bo/ho-so/{quote(code)}?xong={quote(form.get('action', ''))}", 303)

    @page("GET", "/can-bo/ho-so/<code>/giay-to/<attachment_id>")
    def desk_attachment_page(self, request: Request, code: str, attachment_id: str) -> Response:
        """A file the citizen filed, opened from the dossier's page: the API's answer, for the session's official."""
        if (signed_in := desk_pages.session(request, self.officials)) is None:
            return redirect(desk_pages.SIGN_IN, 303)
        try:
            return self._desk_attachment(signed_in[0], code, attachment_id)
        except Unauthorized:  # signed out elsewhere (revoked) or expired: sign in again
            return desk_pages.end_session()

    @page("GET", "/can-bo/bao-cao")
    def report_page(self, request: Request) -> Response:
        """The city admin's on-time report for a period, by agency, procedure or the city; `format=csv` downloads it."""
        if (signed_in := desk_pages.session(request, self.officials)) is None:
            return redirect(desk_pages.SIGN_IN, 303)
        official, claims = signed_in
        page_state = {"official": official, "csrf": claims["csrf"], "agencies": self._agency_names(),
                      "wanted": request.args.to_dict(), "report": None}
        if "from" not in request.args:
            return render("desk_report.html", headers=NO_STORE, **page_state)
        query = inputs.report_query(request.args)
        try:
            report = named_report(self.status.report_on_time(official, query), self._agency_names())
        except Unauthorized:
            return desk_pages.end_session()
        if request.args.get("format") == "csv":
            return csv_response(on_time_csv(report), f"on-time_{query['from']}_{query['to']}_{query['group_by']}.csv")
        return render("desk_report.html", headers=NO_STORE, **{**page_state, "report": report})

    @page("GET", "/dossiers/<code>/receipt")
    def receipt_page(self, request: Request, code: str) -> Response:
        receipt = self._receipt(request, code)
        tracking_link = (f"{request.host_url}tra-cuu?code={quote(receipt['dossier_code'])}"
                         f"&key={quote(inputs.tracking_key(request))}")
        return render("receipt.html", headers=NO_STORE, r=receipt, tracking_link=tracking_link)

    @page("GET,POST", "/<path:rest>", fallback=True)
    def page_not_found(self, request: Request, rest: str) -> Response:
        raise NotFound("Trang này không tồn tại.")

    # --- Lookups: rate-limited per client, failures charged extra ------------------------------

    def _public_view(self, request: Request, code: str, key: str) -> dict:
        with self.lookups.guard(request):
            return self.status.get_public_view(inputs.dossier_code(code), key)

    def _pickup(self, request: Request, pickup_id: str, key: str) -> dict:
        with self.lookups.guard(request):
            return self.postal.get_pickup(inputs.pickup_id(pickup_id), key)

    def _procedure_page(self, code: str, status: int = 200, **form_state) -> Response:
        """The procedure's page; after a refusal, `form_state` holds the errors and what was typed."""
        # A fresh key per rendered form: a double click sends one dossier, a corrected form a new one.
        state = {"errors": {}, "general": [], "values": {}, **form_state}
        return render("procedure.html", status, NO_STORE if form_state else None, p=self.catalog.get_procedure(code),
                      idempotency_key=secrets.token_urlsafe(16), **state)

    def _tracking(self, view: dict, key: str, status: int = 200, **supplement_state) -> Response:
        """The dossier's page for its citizen: the agencies by name, and the notifications sent."""
        agencies = self._agency_names()
        notifications = self.notify.notification_log(view["dossier_code"])
        state = {"supplement_errors": {}, "general": [], "values": {}, "supplement_sent": False, **supplement_state}
        return render("tracking.html", status, NO_STORE, code=view["dossier_code"], key=key, view=view,
                      message=None, agencies=agencies, notifications=notifications,
                      idempotency_key=secrets.token_urlsafe(16), **state)

    def _sign_in_page(self, status: int = 200, username: str = "", message: str | None = None) -> Response:
        return render("desk_sign_in.html", status, NO_STORE if status != 200 else None, username=username,
                      message=message, with_password=self.officials.accounts is not None,
                      with_provider=self.officials.provider is not None)

    def _agency_names(self) -> dict[str, str]:
        return {agency["code"]: agency["name"] for agency in self.catalog.list_agencies()}

    def _desk_dossier(self, official: dict, claims: dict, code: str, status: int = 200, **outcome) -> Response:
        """One dossier at the desk: its facts, the files filed, history, notifications, and a form per action the
        official may take."""
        detail = self.status.desk_get(official, code)
        return render("desk_dossier.html", status, NO_STORE, official=official, csrf=claims["csrf"], d=detail,
                      filed=self.intake.get_filed_dossier(code),
                      agencies=self._agency_names(), notifications=self.notify.notification_log(code),
                      idempotency_key=secrets.token_urlsafe(16), **{"refused": None, "action": None, "done": None,
                                                                     **outcome})

    def _desk_attachment(self, official: dict, code: str, attachment_id: str) -> Response:
        """A file the citizen filed, as the file, once status has let the official see its dossier."""
        code, attachment_id = inputs.dossier_code(code, DESK_NOT_FOUND), inputs.attachment_id(attachment_id)
        return attachment_response(self.intake.read_attachment(self._seen_by(official, code), attachment_id))

    def _seen_by(self, official: dict, code: str) -> str:
        """The dossier's code, once status has let this official see the dossier (else its 404 or 403)."""
        code = inputs.dossier_code(code, DESK_NOT_FOUND)
        self.status.desk_get(official, code)
        return code

    def _receipt(self, request: Request, code: str) -> dict:
        key = inputs.tracking_key(request)
        with self.lookups.guard(request):
            return self.intake.get_receipt(inputs.dossier_code(code), key)


def _document_codes(sent: dict | None) -> list[str]:
    """The document code of each file sent, in order: a refusal names a file by its position."""
    return [attachment["document_code"] for attachment in (sent or {}).get("attachments", [])]
