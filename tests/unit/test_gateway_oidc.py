"""Officials' sign-in through the city's identity provider (gateway.oidc), against a real local OpenID Connect
provider (tests.fakes.identity_provider) that checks PKCE, codes and client secrets as Keycloak does."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.auth import Officials, TokenKeys, TokenRefused, verify_claims
from gateway.desk_pages import (
    PENDING_COOKIE, SESSION_COOKIE, end_session, pending_sign_in, start_provider_sign_in, start_session,
)
from gateway.oidc import (
    IdentityProvider, OidcConfigError, OidcSettings, SignInFailed, SignedInOfficial, code_challenge,
    official_from_claims,
)
from motcua.errors import Forbidden, ServiceUnavailable
from motcua.stack import free_port
from tests.fakes.identity_provider import FakeIdentityProvider

REDIRECT = "http://127.0.0.1:8080/can-bo/dang-nhap/oidc/ve"
COMMUNE = "000.00.51.H24"
# As a city's Keycloak would give them: realm roles beside Mot Cua's own, the agency as a user attribute.
USERS = {
    "tiepnhan.vinhbao": {"preferred_username": "tiepnhan.vinhbao", "name": "Nguyễn Thị Lan", "agency_code": COMMUNE,
                         "realm_access": {"roles": ["offline_access", "receptionist", "uma_authorization"]}},
    "khach": {"preferred_username": "khach", "agency_code": COMMUNE, "realm_access": {"roles": ["offline_access"]}},
}
KEYS = TokenKeys("HS256", "s" * 32, "s" * 32)


@pytest.fixture
def idp():
    with FakeIdentityProvider({"motcua": ("client-secret", [REDIRECT]), "public-desk": (None, [REDIRECT])},
                              USERS) as provider:
        yield provider


def settings_for(idp, client_id="motcua", secret="client-secret") -> OidcSettings:
    return OidcSettings(idp.issuer, client_id, REDIRECT, secret, roles_claim="realm_access.roles")


def signed_in_claims(idp, provider: IdentityProvider, username: str = "tiepnhan.vinhbao") -> dict:
    url, pending = provider.authorization_url()
    return provider.finish(pending, query_of(idp.approve(url, username)))


def query_of(url: str) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_an_official_signs_in_with_pkce_and_the_verified_id_token_gives_the_agency_and_only_our_roles(idp):
    provider = IdentityProvider(settings_for(idp))
    url, pending = provider.authorization_url()
    asked = query_of(url)
    assert asked["code_challenge"] == code_challenge(pending.code_verifier) != pending.code_verifier
    assert (asked["code_challenge_method"], asked["state"], asked["nonce"]) == ("S256", pending.state, pending.nonce)

    claims = provider.finish(pending, query_of(idp.approve(url, "tiepnhan.vinhbao")))

    assert idp.token_requests[0]["code_verifier"] == pending.code_verifier
    assert official_from_claims(claims, provider.settings) == SignedInOfficial(
        "tiepnhan.vinhbao", "Nguyễn Thị Lan", COMMUNE, ("receptionist",))


def test_a_public_client_signs_in_without_a_secret(idp):
    claims = signed_in_claims(idp, IdentityProvider(settings_for(idp, "public-desk", None)))
    assert claims["aud"] == "public-desk"


def test_the_pkce_verifier_of_another_sign_in_gets_no_token(idp):
    provider = IdentityProvider(settings_for(idp))
    url, pending = provider.authorization_url()
    _, other = provider.authorization_url()
    answer = query_of(idp.approve(url, "tiepnhan.vinhbao"))
    with pytest.raises(SignInFailed) as refused:
        provider.finish(type(pending)(pending.state, pending.nonce, other.code_verifier), answer)
    assert refused.value.code == "code_refused"


def test_an_answer_for_another_state_is_refused_before_any_code_is_exchanged(idp):
    provider = IdentityProvider(settings_for(idp))
    url, _ = provider.authorization_url()
    _, other_browser = provider.authorization_url()
    with pytest.raises(SignInFailed) as refused:
        provider.finish(other_browser, query_of(idp.approve(url, "tiepnhan.vinhbao")))
    assert refused.value.code == "state_mismatch" and idp.token_requests == []


def test_a_code_signs_in_once(idp):
    provider = IdentityProvider(settings_for(idp))
    url, pending = provider.authorization_url()
    answer = query_of(idp.approve(url, "tiepnhan.vinhbao"))
    provider.finish(pending, answer)
    with pytest.raises(SignInFailed, match="did not give an ID token"):
        provider.finish(pending, answer)


def test_a_wrong_client_secret_gets_no_token(idp):
    with pytest.raises(SignInFailed) as refused:
        signed_in_claims(idp, IdentityProvider(settings_for(idp, secret="not-the-secret")))
    assert refused.value.code == "code_refused"


def test_the_official_who_cancels_at_the_provider_is_not_signed_in(idp):
    provider = IdentityProvider(settings_for(idp))
    url, pending = provider.authorization_url()
    with pytest.raises(SignInFailed) as refused:
        provider.finish(pending, query_of(idp.approve(url, "nobody-known")))
    assert refused.value.code == "provider_refused" and "access_denied" in refused.value.message


@pytest.mark.parametrize("tampered", [
    {"nonce": "of-another-sign-in"},
    {"aud": "another-client", "azp": "another-client"},
    {"iss": "http://localhost:1/realms/other"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"azp": "another-client", "aud": ["motcua", "another-client"]},
], ids=["nonce", "audience", "issuer", "expired", "authorized-party"])
def test_an_id_token_that_is_not_for_this_sign_in_is_refused(idp, tampered):
    idp.next_id_token = tampered
    with pytest.raises(SignInFailed) as refused:
        signed_in_claims(idp, IdentityProvider(settings_for(idp)))
    assert refused.value.code == "invalid_id_token"


def test_an_id_token_signed_with_a_key_the_provider_does_not_publish_is_refused(idp):
    idp.sign_unpublished = True
    with pytest.raises(SignInFailed) as refused:
        signed_in_claims(idp, IdentityProvider(settings_for(idp), key_refresh_cooldown_seconds=0))
    assert refused.value.code == "invalid_id_token"


def test_after_the_provider_rotates_its_key_officials_still_sign_in(idp):
    provider = IdentityProvider(settings_for(idp), key_refresh_cooldown_seconds=0)
    first = signed_in_claims(idp, provider)
    idp.rotate_key()
    assert signed_in_claims(idp, provider)["sub"] == first["sub"]


def test_an_account_with_no_role_here_is_refused(idp):
    provider = IdentityProvider(settings_for(idp))
    with pytest.raises(Forbidden):
        official_from_claims(signed_in_claims(idp, provider, "khach"), provider.settings)


def test_roles_may_come_as_a_space_separated_claim_and_the_username_falls_back_to_the_subject():
    settings = OidcSettings("https://sso.example.gov.vn/realms/motcua", "motcua", REDIRECT)
    official = official_from_claims({"sub": "4f1c", "agency_code": COMMUNE, "motcua_roles": "handler approver"},
                                    settings)
    assert (official.username, official.roles) == ("4f1c", ("handler", "approver"))


def test_a_provider_that_cannot_be_reached_is_a_503_not_a_refusal():
    provider = IdentityProvider(OidcSettings(f"http://127.0.0.1:{free_port()}/realms/motcua", "motcua", REDIRECT))
    with pytest.raises(ServiceUnavailable):
        provider.authorization_url()


def test_the_logout_address_returns_to_the_sign_in_page(idp):
    provider = IdentityProvider(settings_for(idp))
    logout = provider.logout_url("http://127.0.0.1:8080/can-bo/dang-nhap")
    assert logout.startswith(f"{idp.issuer}/logout?")
    assert query_of(logout) == {"client_id": "motcua", "post_logout_redirect_uri": "http://127.0.0.1:8080/can-bo/dang-nhap"}


@pytest.mark.parametrize("issuer, redirect", [
    ("http://sso.example.gov.vn/realms/motcua", REDIRECT),
    ("https://sso.example.gov.vn/realms/motcua", "http://motcua.example.gov.vn/can-bo/dang-nhap/oidc/ve"),
])
def test_codes_and_tokens_cross_plain_http_only_on_this_machine(issuer, redirect):
    config = {"GATEWAY_OIDC_ISSUER": issuer, "GATEWAY_OIDC_CLIENT_ID": "motcua", "GATEWAY_OIDC_REDIRECT_URL": redirect}
    with pytest.raises(OidcConfigError, match="https"):
        OidcSettings.from_config(config.get)


def test_the_settings_need_a_client_and_a_redirect_address_and_are_off_without_an_issuer():
    assert OidcSettings.from_config({}.get) is None
    with pytest.raises(OidcConfigError):
        OidcSettings.from_config({"GATEWAY_OIDC_ISSUER": "https://sso.example.gov.vn/realms/motcua"}.get)
    settings = OidcSettings.from_config({"GATEWAY_OIDC_ISSUER": "https://sso.example.gov.vn/realms/motcua/",
                                         "GATEWAY_OIDC_CLIENT_ID": "motcua", "GATEWAY_OIDC_REDIRECT_URL": REDIRECT,
                                         "GATEWAY_OIDC_ROLES_CLAIM": "realm_access.roles"}.get)
    assert (settings.issuer, settings.roles_claim, settings.client_secret) == (
        "https://sso.example.gov.vn/realms/motcua", "realm_access.roles", None)


# --- the pending sign-in's cookie and the session it ends in (gateway.desk_pages) -------------------------------

def cookies_set(response: Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def request_with(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return Request(EnvironBuilder(path="/can-bo/dang-nhap/oidc/ve", headers={"Cookie": header}).get_environ())


def test_the_pending_sign_in_lives_in_a_lax_cookie_that_is_no_session_and_no_session_is_one(idp):
    officials = Officials(KEYS, provider=IdentityProvider(settings_for(idp)))
    started = start_provider_sign_in(officials)
    assert started.status_code == 303 and started.location.startswith(f"{idp.issuer}/authorize?")
    set_cookie = cookies_set(started)[PENDING_COOKIE]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=Lax" in set_cookie
    kept = set_cookie.split("=", 1)[1].split(";", 1)[0]
    pending = pending_sign_in(request_with({PENDING_COOKIE: kept}), officials)
    assert pending.state == query_of(started.location)["state"]

    with pytest.raises(TokenRefused):
        verify_claims(kept, KEYS)  # the pending sign-in's cookie opens no desk page

    official = SignedInOfficial("tiepnhan.vinhbao", "Nguyễn Thị Lan", COMMUNE, ("receptionist",))
    session = start_session(officials, official, through_provider=True)
    assert session.status_code == 200 and 'http-equiv="refresh"' in session.get_data(as_text=True)
    session_cookie = cookies_set(session)[SESSION_COOKIE]
    assert "SameSite=Strict" in session_cookie
    assert cookies_set(session)[PENDING_COOKIE].startswith(f"{PENDING_COOKIE}=;")  # the pending sign-in is over
    token = session_cookie.split("=", 1)[1].split(";", 1)[0]
    _, claims = verify_claims(token, KEYS)
    assert claims["sso"] is True and claims["csrf"]
    assert pending_sign_in(request_with({PENDING_COOKIE: token}), officials) is None  # a session is no sign-in
    assert pending_sign_in(request_with({}), officials) is None


def test_the_sign_out_of_a_session_from_the_provider_goes_through_its_logout(idp):
    officials = Officials(KEYS, provider=IdentityProvider(settings_for(idp)))
    signed_out = end_session({"sso": True}, officials).get_data(as_text=True)
    assert f'content="0; url={idp.issuer}/logout?' in signed_out
    assert end_session({"csrf": "x"}, officials).location == "/can-bo/dang-nhap"
