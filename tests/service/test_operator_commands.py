"""The operator's commands run as an operator runs them, against a vhost of their own on the real broker:
each names that vhost on stderr and acts there, and nowhere else."""
import os
import secrets
import subprocess
import sys
from urllib.parse import quote

import requests
from nameko.rpc import rpc

from motcua_contracts.departments import department_queue

MANAGEMENT, ADMIN = "http://127.0.0.1:15672/api", ("guest", "guest")
AGENCY = "000.00.10.H24"


def run(module: str, *args: str, amqp_uri: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "AMQP_URI": amqp_uri, "RPC_TIMEOUT_SECONDS": "10"})


def named(err: str, module: str, vhost: str) -> bool:
    """The command's line naming its broker (after whatever Python warned of while importing)."""
    [line] = [line for line in err.splitlines() if line.startswith(f"python -m {module}: broker ")]
    return line.endswith(f"vhost '{vhost}' (AMQP_URI)") and ":***@" in line


class Status:
    """Stands in for status on the test's vhost: answers a revocation as status does."""

    name = "status"

    @rpc
    def revoke_token(self, token_id, expires_at):
        return {"token_id": token_id, "expires_at": expires_at}


def test_dead_letters_names_the_vhost_and_lists_there(rabbit_config):
    listed = run("motcua.dead_letters", "list", "status", amqp_uri=rabbit_config["AMQP_URI"])
    assert listed.returncode == 0, listed.stderr
    assert named(listed.stderr, "motcua.dead_letters", rabbit_config["vhost"])
    assert "0 dead letter(s) in status.dead-letters" in listed.stderr
    queue = requests.get(f"{MANAGEMENT}/queues/{quote(rabbit_config['vhost'], safe='')}/status.dead-letters",
                         auth=ADMIN, timeout=10)
    assert queue.status_code == 200  # declared in the named vhost, not in /


def test_departments_names_the_vhost_and_the_management_api_and_sets_up_there(rabbit_config):
    uri, vhost, user = rabbit_config["AMQP_URI"], rabbit_config["vhost"], f"test-command-{secrets.token_hex(4)}"
    try:
        added = run("motcua.departments", "add", AGENCY, "--user", user, "--password-stdin", amqp_uri=uri,
                    stdin=secrets.token_urlsafe(16) + "\n")
        assert added.returncode == 0, added.stderr
        assert named(added.stderr, "motcua.departments", vhost)
        assert "management API http://127.0.0.1:15672 as guest" in added.stderr
        queue = requests.get(f"{MANAGEMENT}/queues/{quote(vhost, safe='')}/{quote(department_queue(AGENCY), safe='')}",
                             auth=ADMIN, timeout=10)
        assert queue.status_code == 200
        permissions = requests.get(f"{MANAGEMENT}/users/{quote(user, safe='')}/permissions", auth=ADMIN, timeout=10)
        assert [entry["vhost"] for entry in permissions.json()] == [vhost]
    finally:
        removed = run("motcua.departments", "remove", AGENCY, "--user", user, amqp_uri=uri)
    assert removed.returncode == 0, removed.stderr
    assert named(removed.stderr, "motcua.departments", vhost)


def test_tokens_revoke_names_the_vhost_and_asks_the_status_there(container_factory, rabbit_config):
    container_factory(Status, rabbit_config).start()
    revoked = run("gateway.tokens", "revoke", "--token-id", "jti-operator-1", "--expires-at",
                  "2030-01-01T00:00:00+00:00", amqp_uri=rabbit_config["AMQP_URI"])
    assert revoked.returncode == 0, revoked.stderr
    assert named(revoked.stderr, "gateway.tokens", rabbit_config["vhost"])
    assert '"token_id": "jti-operator-1"' in revoked.stdout
