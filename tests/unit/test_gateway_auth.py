"""Officials' tokens: the keys from configuration, issuing, and every way verification refuses."""
import base64
import importlib.util
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from werkzeug.test import EnvironBuilder

from motcua.errors import ServiceUnavailable

from gateway import tokens
from gateway.auth import (
    AuthConfigError, OfficialAuth, Officials, TokenKeys, TokenRefused, issue_token, keys_from_config, verify_token,
)
from gateway.web import GatewayHttp

SECRET = "s" * 32
KEYS = TokenKeys("HS256", SECRET, SECRET)
AGENCY = "000.00.00.H49"


def claims(**changes):
    now = int(time.time())
    base = {"iss": "motcua", "sub": "nva", "agency": AGENCY, "roles": ["handler"],
            "jti": "5f0c7a52-8d7e-4d69-9a53-0a3f8c1b2e11", "iat": now, "exp": now + 3600}
    return {name: value for name, value in {**base, **changes}.items() if value is not None}


def sign(payload, key=SECRET, algorithm="HS256", headers=None):
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def refused(token, keys=KEYS):
    with pytest.raises(TokenRefused) as raised:
        verify_token(token, keys)
    assert raised.value.http_status == 401
    return raised.value.code


def test_issued_token_verifies_to_the_official():
    now = datetime.now(timezone.utc)
    token, issued = issue_token(KEYS, "nva", AGENCY, ["handler", "approver", "handler"], timedelta(hours=8), now)
    official = verify_token(token, KEYS)
    assert official == {"subject": "nva", "agency_code": AGENCY, "roles": ["handler", "approver"],
                        "token_id": issued["jti"],
                        "expires_at": datetime.fromtimestamp(issued["exp"], timezone.utc).isoformat()}
    assert issued["exp"] - issued["iat"] == 8 * 3600 and issued["iss"] == "motcua"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_each_token_has_its_own_id():
    first, _ = issue_token(KEYS, "nva", AGENCY, ["handler"], timedelta(hours=1))
    second, _ = issue_token(KEYS, "nva", AGENCY, ["handler"], timedelta(hours=1))
    assert verify_token(first, KEYS)["token_id"] != verify_token(second, KEYS)["token_id"]


@pytest.mark.parametrize("agency, roles", [("H49", ["handler"]), (AGENCY, ["janitor"]), (AGENCY, [])])
def test_issuing_refuses_a_bad_official(agency, roles):
    with pytest.raises(ValueError):
        issue_token(KEYS, "nva", agency, roles, timedelta(hours=1))


def test_expired_token_beyond_the_leeway_is_token_expired():
    assert refused(sign(claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 31))) == "token_expired"


def test_a_token_just_expired_within_the_leeway_still_verifies():
    assert verify_token(sign(claims(exp=int(time.time()) - 20)), KEYS)["subject"] == "nva"


def test_tampered_payload_or_signature_is_invalid():
    header, payload, signature = sign(claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(roles=["city_admin"])).encode()).rstrip(b"=").decode()
    assert refused(f"{header}.{forged}.{signature}") == "invalid_token"
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert refused(f"{header}.{payload}.{flipped}") == "invalid_token"
    assert refused(sign(claims(), key="t" * 32)) == "invalid_token"  # another server's secret


def test_the_none_algorithm_is_refused():
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert unsigned.endswith(".")
    assert refused(unsigned) == "invalid_token"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_another_hmac_algorithm_is_refused_even_with_the_right_secret():
    assert refused(sign(claims(), algorithm="HS512")) == "invalid_token"


@pytest.mark.parametrize("missing", ["iss", "sub", "agency", "roles", "jti", "iat", "exp"])
def test_every_claim_is_required(missing):
    assert refused(sign(claims(**{missing: None}))) == "invalid_token"


@pytest.mark.parametrize("changes", [
    {"iss": "someone-else"}, {"roles": ["handler", "superuser"]}, {"roles": []}, {"roles": "handler"},
    {"agency": "H49"}, {"sub": ""}, {"iat": int(time.time()) + 3600}, {"aud": "elsewhere"},
    {"exp": 10**12}, {"exp": 10**18}, {"exp": 10**30}, {"exp": "tomorrow"}, {"exp": str(int(time.time()) + 3600)},
    {"sub": 7},
])
def test_wrong_claims_are_invalid(changes):
    assert refused(sign(claims(**changes))) == "invalid_token"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_invalid(token):
    assert refused(token) == "invalid_token"


def bearer_request(authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return EnvironBuilder(path="/api/v1/desk/dossiers", headers=headers).get_request()


def test_officials_read_the_bearer_header():
    token, _ = issue_token(KEYS, "nva", AGENCY, ["handler"], timedelta(hours=1))
    assert Officials(KEYS).verify(bearer_request(f"bearer {token}"))["subject"] == "nva"
    for header in (None, f"Basic {token}", token):
        with pytest.raises(TokenRefused) as raised:
            Officials(KEYS).verify(bearer_request(header))
        assert raised.value.code == "missing_token"
    with pytest.raises(TokenRefused) as raised:
        Officials(KEYS).verify(bearer_request("Bearer "))
    assert raised.value.code == "invalid_token"


def test_without_keys_the_desk_is_503_auth_not_configured():
    with pytest.raises(ServiceUnavailable) as raised:
        Officials(None).verify(bearer_request("Bearer x"))
    assert raised.value.code == "auth_not_configured"


def test_a_401_on_a_bearer_route_carries_the_challenge():
    desk, api = GatewayHttp("GET", "/d", bearer=True), GatewayHttp("GET", "/a")
    expired = TokenRefused("Expired.", code="token_expired")
    assert desk.response_from_exception(expired).headers["WWW-Authenticate"] == \
        'Bearer realm="motcua", error="invalid_token"'
    missing = TokenRefused("None.", code="missing_token")
    assert desk.response_from_exception(missing).headers["WWW-Authenticate"] == 'Bearer realm="motcua"'
    assert "WWW-Authenticate" not in api.response_from_exception(expired).headers
    assert "WWW-Authenticate" not in desk.response_from_exception(ServiceUnavailable("Down.")).headers


def test_keys_from_configuration():
    assert keys_from_config({}.get) is None
    assert keys_from_config({"JWT_SECRET": SECRET}.get) == KEYS
    with pytest.raises(AuthConfigError, match="32 bytes"):
        keys_from_config({"JWT_SECRET": "short"}.get)
    with pytest.raises(AuthConfigError, match="not both"):
        keys_from_config({"JWT_SECRET": SECRET, "JWT_PUBLIC_KEY": "x"}.get)


@pytest.fixture
def asymmetric():
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric")
    from cryptography.hazmat.primitives import serialization

    def pem(private):
        return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode(),
                private.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode())

    return {"rsa": pem(crypto.rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "ed25519": pem(crypto.ed25519.Ed25519PrivateKey.generate()),
            "ed25519-other": pem(crypto.ed25519.Ed25519PrivateKey.generate())}


@pytest.mark.parametrize("kind, algorithm", [("rsa", "RS256"), ("ed25519", "EdDSA")])
def test_asymmetric_keys_sign_with_the_private_and_verify_with_the_public(asymmetric, kind, algorithm):
    private, public = asymmetric[kind]
    signer = keys_from_config({"JWT_PRIVATE_KEY": private}.get)
    verifier = keys_from_config({"JWT_PUBLIC_KEY": public}.get)
    assert (signer.algorithm, verifier.algorithm, verifier.signing_key) == (algorithm, algorithm, None)
    token, _ = issue_token(signer, "nva", AGENCY, ["approver"], timedelta(hours=1))
    assert verify_token(token, verifier)["roles"] == ["approver"]
    with pytest.raises(AuthConfigError):
        issue_token(verifier, "nva", AGENCY, ["approver"], timedelta(hours=1))


def test_algorithm_confusion_hs256_signed_with_the_public_key_is_refused(asymmetric):
    _, public = asymmetric["rsa"]
    verifier = keys_from_config({"JWT_PUBLIC_KEY": public}.get)
    # PyJWT refuses to HMAC-sign with a PEM key, so build the forgery by hand.
    import hashlib
    import hmac

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims())}"
    mac = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert refused(forged, verifier) == "invalid_token"
    assert refused(sign(claims()), verifier) == "invalid_token"  # any HS256 token, whatever the secret


def test_mismatched_or_unusable_keys_are_refused_at_start(asymmetric):
    with pytest.raises(AuthConfigError, match="not a pair"):
        keys_from_config({"JWT_PRIVATE_KEY": asymmetric["ed25519"][0],
                          "JWT_PUBLIC_KEY": asymmetric["ed25519-other"][1]}.get)
    with pytest.raises(AuthConfigError, match="PEM"):
        keys_from_config({"JWT_PUBLIC_KEY": "not a key"}.get)


def test_asymmetric_keys_without_cryptography_say_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives", None)  # makes its import fail
    with pytest.raises(AuthConfigError, match="cryptography"):
        keys_from_config({"JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"}.get)


# --- The token tool -------------------------------------------------------------------------

def test_issue_prints_a_token_that_verifies_and_its_id_and_expiry(monkeypatch, capsys):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    assert tokens.main(["issue", "--subject", "ttb", "--agency", AGENCY, "--role", "handler",
                        "--role", "approver", "--ttl-hours", "2"]) == 0
    out, err = capsys.readouterr()
    official = verify_token(out.strip(), KEYS)
    assert official["roles"] == ["handler", "approver"]
    assert f"jti {official['token_id']}" in err and f"exp {official['expires_at']}" in err
    expires = datetime.fromisoformat(official["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=2)


@pytest.mark.parametrize("argv, env", [
    (["--role", "handler"], {}),  # no key configured
    (["--role", "handler"], {"JWT_SECRET": "short"}),
    (["--role", "janitor"], {"JWT_SECRET": SECRET}),
    (["--role", "handler", "--ttl-hours", "0"], {"JWT_SECRET": SECRET}),
    (["--role", "handler", "--ttl-hours", "10000"], {"JWT_SECRET": SECRET}),
])
def test_issue_refuses_with_a_usage_error(monkeypatch, capsys, argv, env):
    for name in ("JWT_SECRET", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        tokens.main(["issue", "--subject", "ttb", "--agency", AGENCY, *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().out == ""


def test_issue_refuses_a_bad_agency(monkeypatch, capsys):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    with pytest.raises(SystemExit):
        tokens.main(["issue", "--subject", "ttb", "--agency", "H49", "--role", "handler"])
    assert "agency_code" in capsys.readouterr().err


def make_run_script():
    """scripts/run_local.py (`make run`), which keeps this machine's signing key under var/."""
    spec = importlib.util.spec_from_file_location("run_local", Path(__file__).parents[2] / "scripts/run_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_key_issue_says_how_to_use_the_one_make_run_made(monkeypatch, capsys, tmp_path):
    for name in ("JWT_SECRET", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_VAR_DIR", str(tmp_path))
    secret = make_run_script().local_signing_secret(tmp_path)
    with pytest.raises(SystemExit):
        tokens.main(["issue", "--subject", "ttb", "--agency", AGENCY, "--role", "handler"])
    hint = f"export JWT_SECRET=$(cat {tmp_path / tokens.LOCAL_SECRET_FILE})"
    assert hint in capsys.readouterr().err
    monkeypatch.setenv("JWT_SECRET", (tmp_path / tokens.LOCAL_SECRET_FILE).read_text())  # as the hint does
    assert tokens.main(["issue", "--subject", "ttb", "--agency", AGENCY, "--role", "handler"]) == 0
    verify_token(capsys.readouterr().out.strip(), TokenKeys("HS256", secret, secret))


def asked_status(monkeypatch) -> list:
    asked = []

    def revoke(settings, token_id, expires_at, timeout):
        asked.append((token_id, expires_at))
        return {"token_id": token_id, "expires_at": expires_at}

    monkeypatch.setattr(tokens, "revoke", revoke)
    return asked


def test_revoke_reads_the_id_and_expiry_from_the_token_itself(monkeypatch, capsys):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    asked = asked_status(monkeypatch)
    token, issued = issue_token(KEYS, "ttb", AGENCY, ["handler"], timedelta(hours=1))
    assert tokens.main(["revoke", "--token", token]) == 0
    expires = datetime.fromtimestamp(issued["exp"], timezone.utc).isoformat()
    assert asked == [(issued["jti"], expires)]
    assert json.loads(capsys.readouterr().out) == {"token_id": issued["jti"], "expires_at": expires}


def test_revoke_refuses_a_token_its_key_does_not_verify_and_asks_nothing(monkeypatch, capsys):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    asked = asked_status(monkeypatch)
    assert tokens.main(["revoke", "--token", sign(claims(), key="t" * 32)]) == 1
    assert asked == [] and "not revoked: The token is not valid." in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--token-id", "jti-1"], ["--expires-at", "2030-01-01T00:00:00+00:00"],
                                  ["--token", "x", "--expires-at", "2030-01-01T00:00:00+00:00"],
                                  ["--token", "x", "--token-id", "jti-1"], []])
def test_revoke_needs_the_token_or_its_id_with_its_expiry(monkeypatch, capsys, argv):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    asked = asked_status(monkeypatch)
    with pytest.raises(SystemExit) as exited:
        tokens.main(["revoke", *argv])
    assert exited.value.code == 2 and asked == []


def officials_configured(**config) -> Officials:
    provider = OfficialAuth()
    provider.container = SimpleNamespace(config=config)
    provider.setup()
    return provider.get_dependency(None)


def test_the_sign_in_settings_are_read_once_and_a_missing_accounts_file_means_no_built_in_sign_in(tmp_path,
                                                                                                 asymmetric):
    oidc = {"GATEWAY_OIDC_ISSUER": "https://sso.example.gov.vn/realms/motcua", "GATEWAY_OIDC_CLIENT_ID": "motcua-desk",
            "GATEWAY_OIDC_REDIRECT_URL": "https://motcua.example.gov.vn/can-bo/dang-nhap/oidc/ve"}
    officials = officials_configured(JWT_SECRET="s" * 32, GATEWAY_OFFICIALS_FILE=str(tmp_path / "none.json"),
                                     GATEWAY_SESSION_HOURS="4", **oidc)
    assert officials.accounts is None and officials.session_ttl == timedelta(hours=4)
    assert officials.provider.settings.client_id == "motcua-desk"
    # The gateway signs the sessions it starts: a public key alone cannot.
    _, public = asymmetric["rsa"]
    with pytest.raises(AuthConfigError, match="GATEWAY_OIDC_ISSUER"):
        officials_configured(JWT_PUBLIC_KEY=public, **oidc)
