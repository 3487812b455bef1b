"""The operator's commands act on the broker the services use, and say which before they act."""
import pytest

from gateway import tokens
from motcua import config, dead_letters, departments
from motcua.serve import service_config

STACK_URI = "amqp://motcua:s3cret-pass@rabbit.internal:5672/motcua-staging"


@pytest.mark.parametrize(("uri", "vhost"), [
    ("amqp://guest:guest@127.0.0.1:5672//", "/"),
    ("amqp://guest:guest@127.0.0.1:5672", "/"),
    ("amqp://guest:guest@127.0.0.1:5672/%2F", "/"),
    ("amqp://u:p@rabbit:5672/motcua-staging", "motcua-staging"),
    ("amqp://u:p@rabbit:5672/city%2Fhp", "city/hp"),
])
def test_the_vhost_an_amqp_uri_names(uri, vhost):
    assert config.vhost_of(uri) == vhost


@pytest.mark.parametrize(("uri", "shown"), [
    (STACK_URI, "amqp://motcua:***@rabbit.internal:5672/motcua-staging"),
    ("amqp://p%40ss:w%3Ard@rabbit/x", "amqp://p%40ss:***@rabbit/x"),
    ("amqp://motcua@rabbit/x", "amqp://motcua@rabbit/x"),
    ("amqp://rabbit/x", "amqp://rabbit/x"),
])
def test_a_shown_uri_hides_only_the_password(uri, shown):
    assert config.without_password(uri) == shown


def test_without_amqp_uri_the_command_names_the_default_vhost_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv("AMQP_URI", raising=False)
    assert config.command_broker("tool") == config.DEFAULT_AMQP_URI
    assert capsys.readouterr().err == (
        "tool: broker amqp://guest:***@127.0.0.1:5672//, vhost '/' (the default: AMQP_URI is not set)\n")


def test_with_amqp_uri_the_command_names_its_vhost_and_never_the_password(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", STACK_URI)
    assert config.command_broker("tool") == STACK_URI
    err = capsys.readouterr().err
    assert err == ("tool: broker amqp://motcua:***@rabbit.internal:5672/motcua-staging, vhost 'motcua-staging' "
                   "(AMQP_URI)\n")
    assert "s3cret" not in err


class Acted:
    """What a command acted on, and what it had told the operator by then."""

    def __init__(self, capsys):
        self.capsys, self.on, self.told = capsys, None, ""

    def __call__(self, target: str) -> None:
        self.on, self.told = target, self.capsys.readouterr().err


def run_dead_letters(monkeypatch, acted):
    class Recording(dead_letters.DeadLetters):
        def list(self):
            acted(self.uri)
            return []

    monkeypatch.setattr(dead_letters, "DeadLetters", Recording)
    assert dead_letters.main(["list", "status"]) == 0


def run_departments(monkeypatch, acted):
    monkeypatch.setattr(departments.Management, "add_department",
                        lambda management, agency, user, password: acted(management.vhost))
    assert departments.main(["add", "000.00.10.H24"]) == 0


def run_tokens_revoke(monkeypatch, acted):
    def revoke(settings, token_id, expires_at, timeout):
        acted(settings["AMQP_URI"])
        return {"token_id": token_id, "expires_at": expires_at}

    monkeypatch.setattr(tokens, "revoke", revoke)
    assert tokens.main(["revoke", "--token-id", "jti-1", "--expires-at", "2030-01-01T00:00:00+00:00"]) == 0


@pytest.mark.parametrize("environment", [{}, {"AMQP_URI": STACK_URI}], ids=["without AMQP_URI", "with AMQP_URI"])
@pytest.mark.parametrize(("run", "target"), [
    (run_dead_letters, lambda uri: uri),
    (run_departments, lambda uri: config.vhost_of(uri).replace("/", "%2F")),  # the management API's path
    (run_tokens_revoke, lambda uri: uri),
], ids=["dead_letters", "departments", "tokens"])
def test_each_command_acts_where_the_services_connect_and_names_it_first(monkeypatch, capsys, environment, run,
                                                                         target):
    monkeypatch.delenv("AMQP_URI", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    services_broker = service_config("status")["AMQP_URI"]
    acted = Acted(capsys)
    run(monkeypatch, acted)
    assert acted.on == target(services_broker)
    assert f"vhost '{config.vhost_of(services_broker)}'" in acted.told  # said before it acted
    assert "s3cret" not in acted.told + capsys.readouterr().err
