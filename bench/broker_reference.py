"""The broker's own pace, as bench/pipeline.py's reference: plain pika, persistent messages published with
asynchronous confirms (many outstanding) by one connection while another consumes them with acks, on a
throwaway durable queue of the kind the services declare.

    python bench/broker_reference.py <AMQP URI> [--bytes 1500] [--messages 20000]

prints a JSON object: messages through (published, confirmed, consumed and acknowledged) per second, and
the publisher's confirmed messages per second while the consumer ran.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid

import pika
from pika.adapters.select_connection import IOLoop

from motcua.messaging import queue_arguments

OUTSTANDING = 1000  # confirms the publisher may wait for at once
PREFETCH = 200  # as the department systems take their queues
PROPERTIES = pika.BasicProperties(content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent)


class Run:
    def __init__(self, uri: str, size: int, messages: int):
        self.uri, self.messages = uri, messages
        self.body = b"x" * size
        self.queue = f"bench-reference-{uuid.uuid4().hex[:8]}"
        self.ioloop = IOLoop()
        self.published = self.confirmed = self.consumed = 0
        self.started = self.all_confirmed = self.all_consumed = 0.0
        self.publisher = self.consumer = None

    def connect(self, on_channel) -> pika.SelectConnection:
        def on_open(connection):
            connection.channel(on_open_callback=on_channel)

        def on_error(_connection, error):
            raise RuntimeError(f"broker reference: {error}")

        return pika.SelectConnection(pika.URLParameters(self.uri), on_open_callback=on_open,
                                     on_open_error_callback=on_error, custom_ioloop=self.ioloop)

    def run(self) -> dict:
        self.connect(self.on_consumer_channel)
        self.ioloop.start()
        return {"message_bytes": len(self.body), "messages": self.messages,
                "through_per_second": round(self.messages / (self.all_consumed - self.started), 1),
                "confirmed_per_second": round(self.messages / (self.all_confirmed - self.started), 1)}

    def on_consumer_channel(self, channel) -> None:
        self.consumer = channel
        channel.queue_declare(self.queue, durable=True, arguments=queue_arguments(),
                              callback=lambda _: channel.basic_qos(prefetch_count=PREFETCH, callback=self.consume))

    def consume(self, _frame) -> None:
        self.consumer.basic_consume(self.queue, self.on_message)
        self.connect(self.on_publisher_channel)

    def on_publisher_channel(self, channel) -> None:
        self.publisher = channel
        channel.confirm_delivery(self.on_confirm, callback=lambda _: self.start())

    def start(self) -> None:
        self.started = time.monotonic()
        self.publish()

    def publish(self) -> None:
        while self.published < self.messages and self.published - self.confirmed < OUTSTANDING:
            self.publisher.basic_publish("", self.queue, self.body, PROPERTIES)
            self.published += 1

    def on_confirm(self, frame) -> None:
        if not isinstance(frame.method, pika.spec.Basic.Ack):
            raise RuntimeError("the broker refused a message")
        # RabbitMQ confirms a channel's messages in publish order: the tag is how many are confirmed so far.
        self.confirmed = max(self.confirmed, frame.method.delivery_tag)
        if self.confirmed == self.messages:
            self.all_confirmed = time.monotonic()
        self.publish()

    def on_message(self, channel, method, _properties, _body) -> None:
        channel.basic_ack(method.delivery_tag)
        self.consumed += 1
        if self.consumed == self.messages:
            self.all_consumed = time.monotonic()
            channel.queue_delete(self.queue, callback=lambda _: self.ioloop.stop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("uri")
    parser.add_argument("--bytes", type=int, default=1500)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    print(json.dumps(Run(args.uri, args.bytes, args.messages).run()))


if __name__ == "__main__":
    main()
