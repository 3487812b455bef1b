"""Officials' sign-in through the city's identity provider: OpenID Connect, the authorization code flow with PKCE.

The gateway is the relying party (a confidential client when `GATEWAY_OIDC_CLIENT_SECRET` is set, a public one
otherwise). Signing in: the gateway sends the browser to the provider's authorization endpoint with a fresh
state, nonce and PKCE challenge (S256), kept meanwhile in a short-lived signed cookie; the provider sends the
browser back with a code, which the gateway exchanges for an ID token over its own connection, then verifies
the token with the provider's published keys (JWKS, refetched when a new key id appears), its issuer, audience,
expiry and nonce. The official's agency and roles come from claims the city's provider adds
(`GATEWAY_OIDC_AGENCY_CLAIM`, `GATEWAY_OIDC_ROLES_CLAIM`; a dotted path such as `realm_access.roles` reaches
Keycloak's realm roles); the session is then the gateway's own, as with the built-in sign-in (gateway.desk_pages).

Settings: GATEWAY_OIDC_ISSUER (the provider's issuer URL, e.g. https://sso.example.gov.vn/realms/motcua),
GATEWAY_OIDC_CLIENT_ID, GATEWAY_OIDC_CLIENT_SECRET (optional), GATEWAY_OIDC_REDIRECT_URL (this gateway's
public /can-bo/dang-nhap/oidc/ve address, as registered at the provider).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jwt
import requests

from motcua.errors import Forbidden, MalformedInput, ServiceUnavailable, Unauthorized
from motcua_contracts.desk import ROLES

from gateway.accounts import SignedInOfficial

log = logging.getLogger(__name__)

SCOPE = "openid profile"
# Only signatures made with the provider's private key: never HS256 (the client secret), never "none".
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
REQUIRED_ID_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nonce"]
LEEWAY_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 5
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class OidcConfigError(ValueError):
    """The OpenID Connect settings are unusable: a deployment error, refused at start-up."""


class SignInFailed(Unauthorized):
    """The provider's answer does not sign anyone in: a refusal, a mismatched state, an invalid ID token."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    redirect_url: str
    client_secret: str | None = None
    agency_claim: str = "agency_code"
    roles_claim: str = "motcua_roles"

    @classmethod
    def from_config(cls, get: Callable[[str], str | None]) -> OidcSettings | None:
        """The settings from `get(name)`; None when no issuer is configured (no sign-in through a provider)."""
        issuer = get("GATEWAY_OIDC_ISSUER")
        if not issuer:
            return None
        client_id, redirect_url = get("GATEWAY_OIDC_CLIENT_ID"), get("GATEWAY_OIDC_REDIRECT_URL")
        if not client_id or not redirect_url:
            raise OidcConfigError("GATEWAY_OIDC_ISSUER needs GATEWAY_OIDC_CLIENT_ID and GATEWAY_OIDC_REDIRECT_URL.")
        for name, url in (("GATEWAY_OIDC_ISSUER", issuer), ("GATEWAY_OIDC_REDIRECT_URL", redirect_url)):
            _require_https(name, url)
        return cls(issuer.rstrip("/"), client_id, redirect_url, get("GATEWAY_OIDC_CLIENT_SECRET") or None,
                   get("GATEWAY_OIDC_AGENCY_CLAIM") or cls.agency_claim,
                   get("GATEWAY_OIDC_ROLES_CLAIM") or cls.roles_claim)


def _require_https(name: str, url: str) -> None:
    # Codes and tokens cross these addresses: plain HTTP only where it never leaves the machine.
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise OidcConfigError(f"{name} must be an https:// address (plain http only on this machine): {url!r}")


@dataclass(frozen=True)
class PendingSignIn:
    """What the callback checks the provider's answer against; kept in the browser in a signed cookie."""
    state: str
    nonce: str
    code_verifier: str


class IdentityProvider:
    """The city's OpenID Connect provider, as this gateway talks to it. Its metadata is fetched on first use
    (a provider down at start-up does not stop the gateway), then kept."""

    def __init__(self, settings: OidcSettings, http: requests.Session | None = None,
                 key_refresh_cooldown_seconds: float = 30):
        self.settings = settings
        self._http = http or requests.Session()
        self._key_refresh_cooldown = key_refresh_cooldown_seconds
        self._metadata: dict | None = None
        self._keys: jwt.PyJWKClient | None = None

    def metadata(self) -> dict:
        if self._metadata is None:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            document = self._get_json(url)
            if document.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise ServiceUnavailable(f"The identity provider at {url} names another issuer.",
                                         code="identity_provider_misconfigured")
            missing = [name for name in ("authorization_endpoint", "token_endpoint", "jwks_uri") if name not in document]
            if missing:
                raise ServiceUnavailable(f"The identity provider's metadata lacks {', '.join(missing)}.",
                                         code="identity_provider_misconfigured")
            self._keys = jwt.PyJWKClient(  # the key set kept 5 minutes; a new key id refetches it
                document["jwks_uri"], timeout=HTTP_TIMEOUT_SECONDS, cooldown_duration=self._key_refresh_cooldown)
            self._metadata = document
        return self._metadata

    def authorization_url(self) -> tuple[str, PendingSignIn]:
        """Where to send the browser, and what to keep until it comes back."""
        pending = PendingSignIn(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
        query = {"response_type": "code", "client_id": self.settings.client_id, "scope": SCOPE,
                 "redirect_uri": self.settings.redirect_url, "state": pending.state, "nonce": pending.nonce,
                 "code_challenge": code_challenge(pending.code_verifier), "code_challenge_method": "S256"}
        endpoint = self.metadata()["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", pending

    def finish(self, pending: PendingSignIn, answer: Mapping[str, str]) -> dict:
        """The verified ID token's claims from the provider's answer at the redirect address."""
        if not hmac.compare_digest(answer.get("state", "").encode(), pending.state.encode()):
            raise SignInFailed("The answer does not belong to this browser's sign-in.", code="state_mismatch")
        if "error" in answer:
            raise SignInFailed(f"The identity provider refused: {answer['error'][:100]}.", code="provider_refused")
        if not answer.get("code"):
            raise MalformedInput("The identity provider's answer has no code.", {"code": ["Missing."]})
        tokens = self._exchange(answer["code"], pending.code_verifier)
        return self._verified_claims(tokens.get("id_token", ""), pending.nonce)

    def logout_url(self, after: str) -> str | None:
        """The provider's RP-initiated logout address, returning to `after`; None if it has none."""
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        query = urlencode({"client_id": self.settings.client_id, "post_logout_redirect_uri": after})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def _exchange(self, code: str, code_verifier: str) -> dict:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.settings.redirect_url,
                "code_verifier": code_verifier, "client_id": self.settings.client_id}
        auth = None
        if self.settings.client_secret:  # client_secret_basic, each part form-encoded (RFC 6749 2.3.1)
            auth = (quote(self.settings.client_id, safe=""), quote(self.settings.client_secret, safe=""))
        try:
            answer = self._http.post(self.metadata()["token_endpoint"], data=form, auth=auth,
                                     timeout=HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise _unreachable(exc) from None
        if answer.status_code >= 500:
            raise ServiceUnavailable("The identity provider failed.", code="identity_provider_unavailable")
        body = _json(answer)
        if answer.status_code != 200 or "id_token" not in body:
            # An expired or replayed code, or this client not allowed: the official starts again.
            raise SignInFailed(f"The identity provider did not give an ID token: {str(body.get('error'))[:100]}.",
                               code="code_refused")
        return body

    def _verified_claims(self, id_token: str, nonce: str) -> dict:
        self.metadata()
        try:
            key = self._keys.get_signing_key_from_jwt(id_token)
        except jwt.PyJWKClientConnectionError as exc:
            raise _unreachable(exc) from None
        except jwt.PyJWTError:
            raise SignInFailed("The ID token is not signed with the provider's keys.", code="invalid_id_token") from None
        try:
            claims = jwt.decode(id_token, key, algorithms=ID_TOKEN_ALGORITHMS, audience=self.settings.client_id,
                                issuer=self.settings.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": REQUIRED_ID_TOKEN_CLAIMS})
        except jwt.PyJWTError:
            raise SignInFailed("The ID token is not valid.", code="invalid_id_token") from None
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise SignInFailed("The ID token was issued for another sign-in.", code="invalid_id_token")
        if claims.get("azp", self.settings.client_id) != self.settings.client_id:
            raise SignInFailed("The ID token was issued to another client.", code="invalid_id_token")
        return claims

    def _get_json(self, url: str) -> dict:
        try:
            answer = self._http.get(url, timeout=HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise _unreachable(exc) from None
        return _json(answer)


def official_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> SignedInOfficial:
    """The official the verified claims name; Forbidden when the provider gives them no agency or no role here."""
    username = str(claims.get("preferred_username") or claims["sub"])
    agency = claims_at(claims, settings.agency_claim)
    listed = claims_at(claims, settings.roles_claim)
    listed = listed.split() if isinstance(listed, str) else listed if isinstance(listed, list) else []
    # A provider lists roles of other applications too (Keycloak: offline_access...): only ours count.
    roles = tuple(dict.fromkeys(role for role in listed if role in ROLES))
    if not isinstance(agency, str) or not agency or not roles:
        log.warning("sign-in refused: %s has no agency or no Mot Cua role at the identity provider", username)
        raise Forbidden("This account has no agency or no role in Mot Cua at the identity provider.",
                        code="no_role_here")
    return SignedInOfficial(username, str(claims.get("name") or username), agency, roles)


def claims_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (`realm_access.roles`); None where it is missing."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def code_challenge(code_verifier: str) -> str:
    """PKCE S256 (RFC 7636 4.2): BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _json(answer: requests.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        raise ServiceUnavailable("The identity provider answered something other than JSON.",
                                 code="identity_provider_unavailable") from None
    if not isinstance(body, dict):
        raise ServiceUnavailable("The identity provider answered something other than a JSON object.",
                                 code="identity_provider_unavailable")
    return body


def _unreachable(exc: Exception) -> ServiceUnavailable:
    log.warning("identity provider unreachable: %s", exc)
    return ServiceUnavailable("The identity provider cannot be reached.", code="identity_provider_unavailable")
