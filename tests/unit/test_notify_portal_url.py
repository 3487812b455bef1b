"""Where the links in the citizen's notices point: NOTIFY_PORTAL_URL when it is set, else the gateway on this
machine at the gateway's port (GATEWAY_HTTP_PORT), in the local run (motcua.stack.LocalStack, `make run`) too."""
import os
from unittest import mock

import pytest

from motcua.config import http_port
from motcua.stack import START_ORDER, LocalStack
from notify.settings import NotifySettings


def notify_settings_in(environment: dict[str, str]) -> NotifySettings:
    """NotifySettings as a notify process started with `environment` reads them."""
    with mock.patch.dict(os.environ, environment, clear=True):
        return NotifySettings.from_env()


def test_links_point_at_the_gateways_port_unless_the_portal_is_named():
    assert notify_settings_in({}).portal_url == "http://localhost:8000"
    assert notify_settings_in({"GATEWAY_HTTP_PORT": "9000"}).portal_url == "http://localhost:9000"
    named = {"GATEWAY_HTTP_PORT": "9000", "NOTIFY_PORTAL_URL": "https://dichvucong.haiphong.gov.vn"}
    assert notify_settings_in(named).portal_url == "https://dichvucong.haiphong.gov.vn"


@pytest.mark.parametrize("shell", [{}, {"GATEWAY_HTTP_PORT": "8000"}])
def test_the_local_stacks_notify_links_to_the_port_its_gateway_listens_on(tmp_path, shell):
    with mock.patch.dict(os.environ, shell, clear=True):
        stack = LocalStack({}, {service: 9100 + n for n, service in enumerate(START_ORDER)}, tmp_path)
    gateway = stack.ports["gateway"]
    assert stack.environment("gateway")["GATEWAY_HTTP_PORT"] == str(gateway)
    assert notify_settings_in(stack.environment("notify")).portal_url == f"http://localhost:{gateway}"


def test_make_run_with_another_gateway_port_links_there(tmp_path):
    """scripts/run_local.py gives LocalStack the ports motcua.config.http_port reads from the environment."""
    with mock.patch.dict(os.environ, {"GATEWAY_HTTP_PORT": "8080"}, clear=True):
        stack = LocalStack({}, {service: http_port(service) for service in START_ORDER}, tmp_path)
    assert notify_settings_in(stack.environment("notify")).portal_url == "http://localhost:8080"


@pytest.mark.parametrize("where", ["shell", "stack"])
def test_a_portal_named_explicitly_stands_in_the_local_stack(tmp_path, where):
    portal = {"NOTIFY_PORTAL_URL": "https://motcua.example.org"}
    with mock.patch.dict(os.environ, portal if where == "shell" else {}, clear=True):
        stack = LocalStack(portal if where == "stack" else {}, {"gateway": 9200, "notify": 9201}, tmp_path)
    assert notify_settings_in(stack.environment("notify")).portal_url == "https://motcua.example.org"
