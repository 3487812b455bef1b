"""A broker that goes away under an acknowledgement or a reply must not end the service (motcua.messaging,
motcua.rpc): nameko catches only amqp's ConnectionError there, and a reset socket raises OSError."""
from types import SimpleNamespace

import pytest

from motcua.messaging import ReliableQueueConsumer


class ResetMessage:
    """A delivery whose channel still looks open, but whose socket the broker's restart has reset."""

    def __init__(self):
        self.channel = SimpleNamespace(connection=object())

    def ack(self):
        raise ConnectionResetError(104, "Connection reset by peer")

    def requeue(self):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("settle", ["ack_message", "requeue_message"])
def test_a_reset_socket_under_a_settlement_is_logged_not_raised(settle, caplog):
    getattr(ReliableQueueConsumer(), settle)(ResetMessage())
    assert "comes again" in caplog.text
