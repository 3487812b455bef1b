"""RabbitMQ itself keeps each department to its own agency: tested against the real broker."""
import json
import secrets
from urllib.parse import quote, urlparse

import pika
import pytest
import requests
from pika.exceptions import ChannelClosedByBroker

from motcua.config import vhost_of
from motcua.departments import Management
from motcua_contracts.departments import COMMANDS_EXCHANGE, WORK_EXCHANGE, department_queue

OURS, THEIRS = "000.00.10.H24", "000.00.11.H24"


@pytest.fixture
def departments(rabbit_config):
    """Two departments in this test's vhost, each with its own user (users are broker-wide: unique names)."""
    uri = rabbit_config["AMQP_URI"]
    management = Management(vhost=vhost_of(uri))
    suffix = secrets.token_hex(4)
    made = {}
    for agency in (OURS, THEIRS):
        user, password = f"test-department-{agency}-{suffix}", secrets.token_urlsafe(16)
        management.add_department(agency, user, password)
        made[agency] = (user, password)
    yield uri, made
    for agency, (user, _) in made.items():
        management.remove_department(agency, user)


def connect_as(uri, user, password):
    parsed = urlparse(uri)
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=parsed.hostname, port=parsed.port or 5672, virtual_host=vhost_of(uri),
        credentials=pika.PlainCredentials(user, password), connection_attempts=1))


def admin_publish(uri, exchange, routing_key, body):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(exchange, routing_key, json.dumps(body).encode(), mandatory=True)
    connection.close()


def refused(action) -> bool:
    try:
        action()
    except ChannelClosedByBroker as exc:
        return exc.reply_code == 403
    return False


def test_a_department_reads_its_own_work_and_nothing_of_another_agency(departments):
    uri, users = departments
    admin_publish(uri, WORK_EXCHANGE, f"{OURS}.dossier_received", {"n": 1})
    admin_publish(uri, WORK_EXCHANGE, f"{THEIRS}.dossier_received", {"n": 2})
    connection = connect_as(uri, *users[OURS])
    channel = connection.channel()
    method, _, body = channel.basic_get(department_queue(OURS), auto_ack=True)
    assert json.loads(body) == {"n": 1}
    assert channel.basic_get(department_queue(OURS), auto_ack=True) == (None, None, None)  # only its own item
    assert refused(lambda: channel.basic_get(department_queue(THEIRS), auto_ack=True))
    connection.close()


def test_a_department_cannot_bind_to_another_agencys_keys_nor_declare_queues(departments):
    uri, users = departments
    connection = connect_as(uri, *users[OURS])
    channel = connection.channel()
    channel.queue_bind(department_queue(OURS), WORK_EXCHANGE, routing_key=f"{OURS}.dossier_transferred")
    assert refused(lambda: channel.queue_bind(department_queue(OURS), WORK_EXCHANGE,
                                              routing_key=f"{THEIRS}.#"))
    channel = connection.channel()
    assert refused(lambda: channel.queue_bind(department_queue(OURS), WORK_EXCHANGE, routing_key="#"))
    channel = connection.channel()
    assert refused(lambda: channel.queue_declare("department.sneaky.work", durable=True))
    connection.close()


def test_a_department_publishes_commands_only_for_its_own_agency(departments):
    uri, users = departments
    connection = connect_as(uri, *users[OURS])
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(COMMANDS_EXCHANGE, f"{OURS}.accept", b"{}")  # confirmed: allowed
    assert refused(lambda: channel.basic_publish(COMMANDS_EXCHANGE, f"{THEIRS}.accept", b"{}"))
    channel = connection.channel()
    channel.confirm_delivery()
    assert refused(lambda: channel.basic_publish(WORK_EXCHANGE, f"{OURS}.dossier_received", b"{}"))
    connection.close()


def test_removing_a_department_keeps_its_queue(departments):
    uri, users = departments
    management = Management(vhost=vhost_of(uri))
    admin_publish(uri, WORK_EXCHANGE, f"{THEIRS}.dossier_received", {"n": 3})
    management.remove_department(THEIRS, users[THEIRS][0])
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect_as(uri, *users[THEIRS])
    queue = requests.get(f"{management.url}/api/queues/{quote(vhost_of(uri), safe='')}/"
                         f"{quote(department_queue(THEIRS), safe='')}", auth=management.auth, timeout=5).json()
    assert queue["name"] == department_queue(THEIRS)
