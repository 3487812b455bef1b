"""A department's place on the bus: its queue, its RabbitMQ user and what that user may do.

    python -m motcua.departments add <agency code> [--user NAME] [--password-stdin]
    python -m motcua.departments remove <agency code> [--user NAME]

`add` declares the two department exchanges, the agency's durable queue bound to its own
work items, and a user that RabbitMQ itself confines to that agency:

- read: its own queue only (another agency's queue is ACCESS_REFUSED), and the work
  exchange for bindings, where topic permissions allow only its own routing keys;
- write: the commands exchange, where topic permissions allow publishing only with its own
  agency code first in the routing key (status checks the body's agency again);
- configure: nothing: it can declare no queue or exchange of its own.

It talks to RabbitMQ's management API (RABBITMQ_MANAGEMENT_URL, default
http://127.0.0.1:15672, as RABBITMQ_ADMIN_USER / RABBITMQ_ADMIN_PASSWORD, default
guest/guest) in the vhost of AMQP_URI, read as the services read it; it names both on stderr before
it acts. The generated password is printed once.
"""
from __future__ import annotations

import argparse
import re
import secrets
import sys
from dataclasses import dataclass
from urllib.parse import quote

import requests

from motcua.config import command_broker, env, vhost_of
from motcua.dossier_code import is_valid_agency_code
from motcua.messaging import queue_arguments
from motcua_contracts.departments import (
    COMMANDS_EXCHANGE, WORK_EXCHANGE, agency_prefix_pattern, department_queue,
)


def default_user(agency_code: str) -> str:
    return f"department-{agency_code}"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str
    topic: dict[str, dict[str, str]]  # exchange -> {"write": regex, "read": regex}


def permissions_for(agency_code: str) -> Permissions:
    """What a department's user may touch: the rules above, as RabbitMQ's regular expressions."""
    own_queue = re.escape(department_queue(agency_code))
    own_keys = agency_prefix_pattern(agency_code)
    return Permissions(
        configure="^$",
        # Writing to its own queue is what binding it needs; the commands exchange is where it answers.
        write=f"^({re.escape(COMMANDS_EXCHANGE)}|{own_queue})$",
        read=f"^({own_queue}|{re.escape(WORK_EXCHANGE)})$",
        topic={COMMANDS_EXCHANGE: {"write": own_keys, "read": "^$"},
               WORK_EXCHANGE: {"write": "^$", "read": own_keys}},
    )


class Management:
    """The few management API calls a department's set-up needs."""

    def __init__(self, url: str | None = None, user: str | None = None, password: str | None = None,
                 vhost: str = "/"):
        self.url = (url or env("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")).rstrip("/")
        self.auth = (user or env("RABBITMQ_ADMIN_USER", "guest"), password or env("RABBITMQ_ADMIN_PASSWORD", "guest"))
        self.vhost = quote(vhost, safe="")

    def _call(self, method: str, path: str, json: dict | None = None, ok_missing: bool = False) -> None:
        response = requests.request(method, f"{self.url}/api/{path}", json=json, auth=self.auth, timeout=10)
        if ok_missing and response.status_code == 404:
            return
        if response.status_code >= 300:
            raise RuntimeError(f"RabbitMQ management {method} {path}: {response.status_code} {response.text[:300]}")

    def declare_department_exchanges(self) -> None:
        for name in (WORK_EXCHANGE, COMMANDS_EXCHANGE):
            self._call("PUT", f"exchanges/{self.vhost}/{quote(name, safe='')}",
                       {"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})

    def add_department(self, agency_code: str, user: str, password: str) -> None:
        if not is_valid_agency_code(agency_code):
            raise ValueError(f"{agency_code!r} is not a QCVN 102 agency code")
        self.declare_department_exchanges()
        queue = quote(department_queue(agency_code), safe="")
        self._call("PUT", f"queues/{self.vhost}/{queue}",
                   {"durable": True, "auto_delete": False, "arguments": queue_arguments()})
        self._call("POST", f"bindings/{self.vhost}/e/{quote(WORK_EXCHANGE, safe='')}/q/{queue}",
                   {"routing_key": f"{agency_code}.#", "arguments": {}})
        rules = permissions_for(agency_code)
        self._call("PUT", f"users/{quote(user, safe='')}", {"password": password, "tags": ""})
        self._call("PUT", f"permissions/{self.vhost}/{quote(user, safe='')}",
                   {"configure": rules.configure, "write": rules.write, "read": rules.read})
        for exchange, topic in rules.topic.items():
            self._call("PUT", f"topic-permissions/{self.vhost}/{quote(user, safe='')}", {"exchange": exchange, **topic})

    def remove_department(self, agency_code: str, user: str, keep_queue: bool = True) -> None:
        """The user goes (its connections with it); the queue stays unless asked, so no work item is lost."""
        self._call("DELETE", f"users/{quote(user, safe='')}", ok_missing=True)
        if not keep_queue:
            self._call("DELETE", f"queues/{self.vhost}/{quote(department_queue(agency_code), safe='')}",
                       ok_missing=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.departments", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create the agency's queue and a RabbitMQ user confined to it")
    add.add_argument("agency_code")
    add.add_argument("--user", help="default: department-<agency code>")
    add.add_argument("--password-stdin", action="store_true", help="read the password instead of generating one")
    remove = commands.add_parser("remove", help="delete the agency's user (its queue is kept)")
    remove.add_argument("agency_code")
    remove.add_argument("--user")
    remove.add_argument("--delete-queue", action="store_true")
    args = parser.parse_args(argv)
    management = Management(vhost=vhost_of(command_broker(parser.prog)))
    print(f"{parser.prog}: RabbitMQ management API {management.url} as {management.auth[0]}", file=sys.stderr)
    user = args.user or default_user(args.agency_code)
    if args.command == "add":
        password = sys.stdin.readline().strip() if args.password_stdin else secrets.token_urlsafe(24)
        management.add_department(args.agency_code, user, password)
        print(f"department {args.agency_code}: user {user}, queue {department_queue(args.agency_code)}")
        if not args.password_stdin:
            print(f"password (shown once): {password}")
        return 0
    management.remove_department(args.agency_code, user, keep_queue=not args.delete_queue)
    print(f"department {args.agency_code}: user {user} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
