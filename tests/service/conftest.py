"""Fixtures shared by the service tests of one service; each test module supplies its own `config`."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies

from motcua.stack import free_port
from tests.support import TEST_NOW, PinnedClock


@pytest.fixture
def metrics_config():
    """Where a gateway under test serves its metrics (motcua.web.MetricsPort): a free port."""
    return {"METRICS_ADDRESS": f"127.0.0.1:{free_port()}"}


@pytest.fixture
def status_clock():
    return PinnedClock(TEST_NOW)


def start_status(container_factory, config, clock):
    """The status service in a nameko container, its clock replaced; settings are read as it starts."""
    from status.service import StatusService

    container = container_factory(StatusService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    return container


def start_gateway(container_factory, rabbit_config, web_config, metrics_config, fakes, **settings):
    """The fake services the gateway calls, each in its own container, then the gateway on web_config's free
    port; short RPC timeouts and a rate limit that tests do not reach, unless `settings` say otherwise."""
    from gateway.service import GatewayService

    for fake in fakes:
        container_factory(fake, rabbit_config).start()
    settings = {"RPC_TIMEOUT_SECONDS": 5, "GATEWAY_MAX_BODY_MB": 1, "LOOKUP_RATE_PER_MINUTE": 1000, **settings}
    container_factory(GatewayService, {**rabbit_config, **web_config, **metrics_config, **settings}).start()


@pytest.fixture
def status(container_factory, config, status_clock):
    """The status service in a nameko container on the test module's broker vhost and database, its clock
    pinned at TEST_NOW."""
    return start_status(container_factory, config, status_clock)


@pytest.fixture
def rpc(status, config):
    """RPC to that status service."""
    with ServiceRpcProxy("status", config, timeout=15) as proxy:
        yield proxy
