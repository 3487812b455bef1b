"""The officials' desk in a browser: the sign-in session, its forms' CSRF check, and an action from a form.

A session is a token the gateway issues at sign-in (gateway.auth.issue_token), kept in a cookie the
pages' scripts cannot read (HttpOnly), sent only over HTTPS or to localhost (Secure, `__Host-`),
and never with a request another site starts (SameSite=Strict). It carries a random `csrf` value,
which every form of the desk sends back and which is checked against the verified token, so a form
posted from elsewhere is refused even by a browser that ignores SameSite. It is verified like a
bearer token, and status checks its revocation on every call: signing out revokes it.

Signing in through the city's identity provider (gateway.oidc) keeps the pending sign-in (state, nonce, PKCE
verifier) in a second cookie for ten minutes, signed like a session but for another audience so neither can stand
in for the other; it is SameSite=Lax, as the provider sends the browser back from another site.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, fields
from datetime import datetime, timezone
from urllib.parse import urlsplit

import jwt
from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from motcua.errors import Forbidden
from motcua_contracts.base import shared
from motcua_contracts.desk import DeskActionSchema

from gateway.accounts import SignedInOfficial
from gateway.auth import Officials, TokenRefused, issue_token, verify_claims
from gateway.inputs import file_payload, load
from gateway.oidc import IdentityProvider, PendingSignIn
from gateway.rendering import render
from gateway.web import NO_STORE

SESSION_COOKIE = "__Host-motcua-session"
PENDING_COOKIE = "__Host-motcua-sign-in"
PENDING_AUDIENCE = "motcua-pending-sign-in"
PENDING_FIELDS = tuple(field.name for field in fields(PendingSignIn))
PENDING_SECONDS = 600  # to type a password at the provider
DESK_HOME = "/can-bo/ho-so"
SIGN_IN = "/can-bo/dang-nhap"


def start_session(officials: Officials, account: SignedInOfficial, now: datetime | None = None,
                  through_provider: bool = False) -> Response:
    """Signed in: the session cookie, and on to the work list."""
    session_claims = {"csrf": secrets.token_urlsafe(24), **({"sso": True} if through_provider else {})}
    token, claims = issue_token(officials.keys, account.username, account.agency_code, list(account.roles),
                                officials.session_ttl, now or datetime.now(timezone.utc), session_claims)
    if through_provider:
        # This answer ends a chain of redirects another site (the provider) started: a browser does not send a
        # SameSite=Strict cookie on a redirect in it, so the work list is opened from this page instead.
        response = render("desk_signed_in.html", headers=NO_STORE, name=account.name, destination=DESK_HOME)
        response.delete_cookie(PENDING_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    else:
        response = redirect(DESK_HOME, 303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(officials.session_ttl.total_seconds()), path="/",
                        secure=True, httponly=True, samesite="Strict")
    return response


def end_session(claims: dict | None = None, officials: Officials | None = None) -> Response:
    """Signed out: the cookie removed, and back to the sign-in page; through the provider's logout when the
    session began there, so that the next sign-in asks for the official's password again."""
    provider = officials.provider if officials is not None else None
    logout = None
    if claims and claims.get("sso") and provider is not None:
        logout = provider.logout_url(_on_this_site(provider, SIGN_IN))
    if logout is None:
        response = redirect(SIGN_IN, 303)
    else:
        # Opened from a page, not redirected to: the pages' Content-Security-Policy lets a form lead only to this
        # site (form-action 'self'), and that holds for where its answer redirects.
        response = render("desk_signed_out.html", headers=NO_STORE, destination=logout)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


def start_provider_sign_in(officials: Officials, now: datetime | None = None) -> Response:
    """To the city's identity provider, with the pending sign-in kept in its cookie."""
    authorization_url, pending = officials.provider.authorization_url()
    issued = int((now or datetime.now(timezone.utc)).timestamp())
    kept = jwt.encode({"aud": PENDING_AUDIENCE, "iat": issued, "exp": issued + PENDING_SECONDS, **asdict(pending)},
                      officials.keys.signing_key, algorithm=officials.keys.algorithm)
    response = redirect(authorization_url, 303)
    response.set_cookie(PENDING_COOKIE, kept, max_age=PENDING_SECONDS, path="/", secure=True, httponly=True,
                        samesite="Lax")
    return response


def pending_sign_in(request: Request, officials: Officials) -> PendingSignIn | None:
    """The pending sign-in this browser started here; None when it has none or it has expired."""
    kept = request.cookies.get(PENDING_COOKIE)
    if not kept or officials.keys is None:
        return None
    try:
        claims = jwt.decode(kept, officials.keys.verifying_key, algorithms=[officials.keys.algorithm],
                            audience=PENDING_AUDIENCE, options={"require": ["aud", "exp", *PENDING_FIELDS]})
    except jwt.PyJWTError:
        return None
    return PendingSignIn(**{name: str(claims[name]) for name in PENDING_FIELDS})


def _on_this_site(provider: IdentityProvider, path: str) -> str:
    # From the registered redirect address, never from the request's Host header.
    parts = urlsplit(provider.settings.redirect_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


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
    return shared(DeskActionSchema).dump(load(shared(DeskActionSchema), command, "The action has invalid fields."))
