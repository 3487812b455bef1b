"""Fixtures shared by the service tests of one service; each test module supplies its own `config`."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy


@pytest.fixture
def status(container_factory, config):
    """The status service in a nameko container on the test module's broker vhost and database."""
    from status.service import Service

    container = container_factory(Service, config)
    container.start()
    return container


@pytest.fixture
def rpc(status, config):
    """RPC to that status service."""
    with ServiceRpcProxy("status", config, timeout=15) as proxy:
        yield proxy
