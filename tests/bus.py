"""Reading what services published, as a department system's queue would receive it."""
import json
import time

import eventlet
from kombu import Connection


def take_messages(amqp_uri: str, queue_name: str, count: int, timeout: float = 10.0) -> list[dict]:
    """Up to `count` JSON bodies from `queue_name`, waiting at most `timeout` seconds for them."""
    messages, deadline = [], time.monotonic() + timeout
    with Connection(amqp_uri) as conn:
        while len(messages) < count and time.monotonic() < deadline:
            message = conn.default_channel.basic_get(queue=queue_name, no_ack=True)
            if message is None:
                eventlet.sleep(0.1)
            else:
                messages.append(json.loads(message.body))
    return messages
