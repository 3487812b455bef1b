"""Officials' signed tokens (JWT): the keys from configuration, issuing, and verifying.

Claims: iss "motcua", sub (the official), agency (QCVN 102 code), roles (a subset of
`ROLES`), jti (uuid4, the handle for revocation), iat, exp. The keys come only from
configuration: `JWT_SECRET` (HS256, at least 32 bytes) or `JWT_PRIVATE_KEY` /
`JWT_PUBLIC_KEY` (PEM; RSA gives RS256, Ed25519 gives EdDSA; the gateway needs only the
public key, the token tool the private one). The gateway checks the signature and the
claims; revocation is status's to check, as it holds the revoked ids and every desk call
carries `token_id`.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from motcua.errors import ServiceUnavailable, Unauthorized
from motcua_contracts.base import shared
from motcua_contracts.desk import OfficialSchema

from gateway.accounts import AccountBook
from gateway.oidc import IdentityProvider, OidcSettings
from gateway.web import MISSING_TOKEN, text_setting

log = logging.getLogger(__name__)

ISSUER = "motcua"
LEEWAY_SECONDS = 30  # clock skew between the machine that issued and the one that verifies
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
MIN_RSA_BITS = 2048
REQUIRED_CLAIMS = ["iss", "sub", "agency", "roles", "jti", "iat", "exp"]


class AuthConfigError(ValueError):
    """The configured keys are unusable: a deployment error, refused at start-up."""


@dataclass(frozen=True)
class TokenKeys:
    algorithm: str  # the only one accepted when verifying: no "none", no HS256 with a public key
    verifying_key: Any
    signing_key: Any = None  # None where only the public key is configured


def keys_from_config(get: Callable[[str], str | None]) -> TokenKeys | None:
    """The keys from `get(name)` (container config or environment); None when none is configured."""
    secret, private, public = get("JWT_SECRET"), get("JWT_PRIVATE_KEY"), get("JWT_PUBLIC_KEY")
    if secret and (private or public):
        raise AuthConfigError("Configure JWT_SECRET or JWT_PRIVATE_KEY/JWT_PUBLIC_KEY, not both.")
    if secret:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthConfigError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes.")
        return TokenKeys("HS256", secret, secret)
    if private or public:
        return _asymmetric_keys(private, public)
    return None


def _asymmetric_keys(private_pem: str | None, public_pem: str | None) -> TokenKeys:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    except ImportError:
        raise AuthConfigError("JWT_PRIVATE_KEY/JWT_PUBLIC_KEY need the `cryptography` package.") from None
    try:
        private = serialization.load_pem_private_key(private_pem.encode(), None) if private_pem else None
        public = serialization.load_pem_public_key(public_pem.encode()) if public_pem else private.public_key()
    except (ValueError, TypeError) as exc:
        raise AuthConfigError(f"The JWT key is not a usable PEM key: {exc}") from None

    def raw(key: Any) -> bytes:
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    if private is not None and raw(private.public_key()) != raw(public):
        raise AuthConfigError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are not a pair.")
    if isinstance(public, rsa.RSAPublicKey) and public.key_size >= MIN_RSA_BITS:
        return TokenKeys("RS256", public, private)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return TokenKeys("EdDSA", public, private)
    raise AuthConfigError(f"JWT keys must be RSA of at least {MIN_RSA_BITS} bits or Ed25519.")


def issue_token(keys: TokenKeys, subject: str, agency_code: str, roles: list[str], ttl: timedelta,
                now: datetime | None = None, session_claims: Mapping[str, Any] | None = None) -> tuple[str, dict]:
    """A signed token and its claims; ValueError names what is wrong with the official. A sign-in session's
    token also carries `session_claims`: `csrf`, the value its pages' forms must send back, and `sso` when the
    official signed in through the city's identity provider (gateway.desk_pages)."""
    if keys.signing_key is None:
        raise AuthConfigError("Issuing tokens needs JWT_SECRET or JWT_PRIVATE_KEY.")
    if ttl <= timedelta(0):
        raise ValueError("The lifetime must be positive.")
    issued = int((now or datetime.now(timezone.utc)).timestamp())
    claims = {"iss": ISSUER, "sub": subject, "agency": agency_code, "roles": list(dict.fromkeys(roles)),
              "jti": str(uuid.uuid4()), "iat": issued, "exp": issued + int(ttl.total_seconds())}
    claims.update({name: value for name, value in (session_claims or {}).items() if name not in claims})
    errors = shared(OfficialSchema).validate(_official(claims))
    if errors:
        raise ValueError(f"Not a valid official: {errors}")
    return jwt.encode(claims, keys.signing_key, algorithm=keys.algorithm), claims


class TokenRefused(Unauthorized):
    """401 `invalid_token`, `token_expired` or `missing_token`."""


def verify_token(token: str, keys: TokenKeys) -> dict:
    """The official (`OfficialSchema` dump) whose token this is, or `TokenRefused`."""
    return verify_claims(token, keys)[0]


def verify_claims(token: str, keys: TokenKeys) -> tuple[dict, dict]:
    """(the official as `verify_token` gives it, every claim of the token), or `TokenRefused`."""
    try:
        claims = jwt.decode(token, keys.verifying_key, algorithms=[keys.algorithm], issuer=ISSUER,
                            leeway=LEEWAY_SECONDS, options={"require": REQUIRED_CLAIMS})
        return shared(OfficialSchema).dump(shared(OfficialSchema).load(_official(claims))), claims
    except jwt.ExpiredSignatureError:
        raise TokenRefused("The token has expired; ask for a new one.", code="token_expired") from None
    except (jwt.InvalidTokenError, ValidationError, TypeError, ValueError, OverflowError, OSError):
        # One answer for every other failure (the last four: an exp no datetime can hold): the
        # caller learns nothing about which check failed.
        raise TokenRefused("The token is not valid.", code="invalid_token") from None


def _official(claims: Mapping[str, Any]) -> dict:
    return {"subject": claims["sub"], "agency_code": claims["agency"], "roles": claims["roles"],
            "token_id": claims["jti"], "expires_at": datetime.fromtimestamp(claims["exp"], timezone.utc).isoformat()}


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise TokenRefused("This route needs an official's token: Authorization: Bearer <token>.",
                           code=MISSING_TOKEN)
    return token.strip()


class Officials:
    def __init__(self, keys: TokenKeys | None, accounts: AccountBook | None = None,
                 session_ttl: timedelta = timedelta(hours=8), provider: IdentityProvider | None = None):
        self.keys = keys
        self.accounts = accounts  # the built-in sign-in's officials; None: no built-in sign-in
        self.session_ttl = session_ttl
        self.provider = provider  # the city's OpenID Connect provider; None: no sign-in through it

    def verify(self, request: Request) -> dict:
        """The verified official of this request, as status wants it with every desk call."""
        if self.keys is None:
            raise ServiceUnavailable("Officials' sign-in is not configured on this server.",
                                     code="auth_not_configured")
        return verify_token(bearer_token(request), self.keys)


class OfficialAuth(DependencyProvider):
    """The keys, read once per container. None configured: the desk answers 503, the rest works."""

    def setup(self) -> None:
        config = self.container.config
        keys = keys_from_config(lambda name: text_setting(config, name))
        if keys is None:
            log.warning("no JWT key configured: the officials' routes answer 503 auth_not_configured")
        accounts_file = text_setting(config, "GATEWAY_OFFICIALS_FILE")
        accounts = None
        if accounts_file and Path(accounts_file).exists():
            accounts = AccountBook.from_file(accounts_file)
        elif accounts_file:  # e.g. the optional Kubernetes Secret not created: officials sign in elsewhere
            log.warning("GATEWAY_OFFICIALS_FILE %s does not exist: no built-in sign-in", accounts_file)
        hours = float(text_setting(config, "GATEWAY_SESSION_HOURS") or 8)
        provider_settings = OidcSettings.from_config(lambda name: text_setting(config, name))
        if provider_settings is not None and (keys is None or keys.signing_key is None):
            raise AuthConfigError("Sign-in through GATEWAY_OIDC_ISSUER needs JWT_SECRET or JWT_PRIVATE_KEY: "
                                  "the gateway signs the session it starts.")
        provider = IdentityProvider(provider_settings) if provider_settings else None
        self.officials = Officials(keys, accounts, timedelta(hours=hours), provider)

    def get_dependency(self, worker_ctx) -> Officials:
        return self.officials
