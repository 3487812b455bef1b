"""The officials' desk in a browser: the sign-in session, its forms' CSRF check, and an action from a form.

A session is a token the gateway issues at sign-in (gateway.auth.issue_token), kept in a cookie the
pages' scripts cannot read (HttpOnly), sent only over HTTPS or to localhost (Secure, `__Host-`),
and never with a request another site starts (SameSite=Strict). It carries a random `csrf` value,
which every form of the desk sends back and which is checked against the verified token, so a form
posted from elsewhere is refused even by a browser that ignores SameSite. It is verified like a
bearer token, and status checks its revocation on every call: signing out revokes it.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone

from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from motcua.errors import Forbidden
from motcua_contracts.desk import DeskActionSchema

from gateway.accounts import Official as Account
from gateway.auth import Officials, TokenRefused, issue_token, verify_claims
from gateway.inputs import file_payload, load

SESSION_COOKIE = "__Host-motcua-session"
DESK_HOME = "/can-bo/ho-so"
SIGN_IN = "/can-bo/dang-nhap"


def start_session(officials: Officials, account: Account, now: datetime | None = None) -> Response:
    """Signed in: the session cookie, and on to the work list."""
    token, claims = issue_token(officials.keys, account.username, account.agency_code, list(account.roles),
                                officials.session_ttl, now or datetime.now(timezone.utc),
                                csrf=secrets.token_urlsafe(24))
    response = redirect(DESK_HOME, 303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(officials.session_ttl.total_seconds()), path="/",
                        secure=True, httponly=True, samesite="Strict")
    return response


def end_session() -> Response:
    response = redirect(SIGN_IN, 303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


def session(request: Request, officials: Officials) -> tuple[dict, dict] | None:
    """(the official as status wants it, the token's claims) of the request's session; None without a valid one."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or officials.keys is None:
        return None
    try:
        return verify_claims(token, officials.keys)
    except TokenRefused:
        return None


def check_csrf(form: MultiDict, claims: dict) -> None:
    sent, expected = form.get("csrf", ""), claims.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("This form did not come from this session's page.", {"csrf": ["Reload the page."]})


def action_from_form(form: MultiDict, files: MultiDict) -> dict:
    """A desk page's action form in the API's shape (DeskActionSchema): one line per missing item, the result
    document as a file."""
    command: dict = {"action": form.get("action", "")}
    for name in ("reason", "to_agency_code", "assignee"):
        if form.get(name, "").strip():
            command[name] = form[name].strip()
    if form.get("missing_items", "").strip():
        command["missing_items"] = [line.strip() for line in form["missing_items"].splitlines() if line.strip()]
    for name in ("fee_vnd", "expected_version"):
        if form.get(name, "").strip():
            command[name] = form[name].strip()
    result = files.get("result_document")
    if result is not None and result.filename:
        command["result_document"] = file_payload(result.filename, result.read())
    return DeskActionSchema().dump(load(DeskActionSchema(), command, "The action has invalid fields."))
