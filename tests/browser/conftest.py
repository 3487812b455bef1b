"""The browser tests: Debian's chromium driven by Playwright against the whole system.

They run in a pytest process of their own, without eventlet (`make test` runs them with
`--confcutdir=tests/browser`, and tests/conftest.py leaves this folder out of the main run):
Playwright's driver never stops under eventlet's monkey-patching, so a run would hang at its end.
"""
import json
import os

import pytest
from playwright.sync_api import sync_playwright

from gateway.accounts import hash_password
from motcua.stack import create_postgres_database, drop_postgres_database, free_port
from motcua.migrations import upgrade
from tests.browser.visitor import DESKTOP, PHONE, Visitor
from tests.fakes.identity_provider import FakeIdentityProvider
from tests.whole_system import new_vhost, running_stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


COMMUNE = "000.00.51.H24"  # UBND xã Vĩnh Bảo
# The officials the built-in sign-in knows in these tests: (username, password, agency, roles).
OFFICIALS = [("tiepnhan.vinhbao", "mot-cua-tiep-nhan-2026", COMMUNE, ["receptionist"]),
             ("xuly.vinhbao", "mot-cua-xu-ly-2026", COMMUNE, ["handler"]),
             ("pheduyet.vinhbao", "mot-cua-phe-duyet-2026", COMMUNE, ["approver"]),
             ("quantri.thanhpho", "mot-cua-quan-tri-2026", "000.00.00.H24", ["city_admin"])]


# The officials the city's identity provider knows: username -> the claims of their ID token.
PROVIDER_OFFICIALS = {"xuly.sso.vinhbao": {"preferred_username": "xuly.sso.vinhbao", "name": "Trần Văn Minh",
                                           "agency_code": COMMUNE,
                                           "realm_access": {"roles": ["offline_access", "handler"]}},
                      "moi.vao.vinhbao": {"preferred_username": "moi.vao.vinhbao", "agency_code": COMMUNE,
                                          "realm_access": {"roles": ["offline_access"]}}}  # no role in Mot Cua yet


@pytest.fixture(scope="session")
def identity_provider():
    """The city's OpenID Connect provider, at `localhost`: another site than the gateway's 127.0.0.1."""
    with FakeIdentityProvider({}, PROVIDER_OFFICIALS) as provider:
        yield provider


@pytest.fixture(scope="session")
def stack(tmp_path_factory, identity_provider):
    """The whole system on a vhost and databases of its own, the catalogue seeded, the officials of OFFICIALS able
    to sign in with a password and those of PROVIDER_OFFICIALS through the identity provider; stopped and dropped
    after."""
    gateway_port = free_port()
    redirect = f"http://127.0.0.1:{gateway_port}/can-bo/dang-nhap/oidc/ve"
    identity_provider.clients["motcua-desk"] = ("desk-client-secret", [redirect])
    root = tmp_path_factory.mktemp("stack")
    officials_file = root / "officials.json"
    officials_file.write_text(json.dumps({"officials": [
        {"username": username, "name": username, "agency_code": agency, "roles": roles,
         "password_hash": hash_password(password)} for username, password, agency, roles in OFFICIALS]}))
    created = []

    def create_database(service: str) -> str:
        name, url = create_postgres_database("mct", f"web{service}")
        created.append(name)
        upgrade(service, url)
        return url

    try:
        settings = {"GATEWAY_OFFICIALS_FILE": str(officials_file), "GATEWAY_OIDC_ISSUER": identity_provider.issuer,
                    "GATEWAY_OIDC_CLIENT_ID": "motcua-desk", "GATEWAY_OIDC_CLIENT_SECRET": "desk-client-secret",
                    "GATEWAY_OIDC_REDIRECT_URL": redirect, "GATEWAY_OIDC_ROLES_CLAIM": "realm_access.roles"}
        with new_vhost() as vhost, running_stack(create_database, vhost, root, settings,
                                                 {"gateway": gateway_port}) as running:
            yield running
    finally:
        for name in created:
            drop_postgres_database(name)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium (CHROMIUM), headless; never a browser Playwright downloads."""
    # The browser keeps the machine's clock when the suite runs at another instant (scripts/at_instant.py): chromium
    # does not load pages under libfaketime, and a citizen's clock is never the server's anyway.
    real_clock = {name: value for name, value in os.environ.items() if not name.startswith(("FAKETIME", "LD_PRELOAD"))}
    with sync_playwright() as playwright:
        # --no-sandbox: the suite runs as root in a container, where chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], env=real_clock)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item, so a fixture can tell whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def close_after(opened: Visitor, request) -> None:
    """Close a visitor; when its test failed, keep a screenshot of where the page was."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        opened.screenshot("FAILED-" + request.node.name.replace("/", "_"))
    opened.close()


@pytest.fixture(params=["desktop", "phone"])
def visitor(browser, request):
    """A citizen's or an official's browser, on a desktop or on a phone screen (`visitor.screen`)."""
    opened = Visitor(browser, DESKTOP if request.param == "desktop" else PHONE)
    opened.screen = request.param
    yield opened
    close_after(opened, request)


@pytest.fixture
def citizen(browser, request):
    """A citizen's browser on a desktop screen."""
    opened = Visitor(browser)
    yield opened
    close_after(opened, request)


@pytest.fixture
def official(browser, request):
    """An official's browser on a desktop screen, beside the citizen's."""
    opened = Visitor(browser)
    yield opened
    close_after(opened, request)
