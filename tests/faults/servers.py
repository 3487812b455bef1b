"""A RabbitMQ node and a PostgreSQL cluster of the fault campaign's own, on free loopback ports.

The campaign kills and restarts them; the machine's shared broker and database (5672, 5432),
which other test runs use, are never touched. Both keep their data in a temporary folder
that lives as long as the object, so a restart finds what was there before the crash.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from kombu import Connection

from motcua.stack import free_port, postgres_admin

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's, without /usr/sbin's change of user


def _wait(ready, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s; see {log}")


class PrivateRabbitMQ:
    """One RabbitMQ node: its own node name, Erlang port mapper, AMQP and management ports, and data."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mct-faults-rabbitmq-"))
        self.amqp_port, self.management_port, dist_port, self.epmd_port = (free_port() for _ in range(4))
        self.node = f"mctfaults{self.amqp_port}@localhost"
        (self.root / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n")
        (self.root / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's, which names the shared node
        self.env = {
            **os.environ, "HOME": str(self.root),  # the Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port), "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"), "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "ERL_EPMD_PORT": str(self.epmd_port), "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"
        self.management_url = f"http://127.0.0.1:{self.management_port}"
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def start(self, timeout: float = 90) -> None:
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen([RABBITMQ_SERVER], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        _wait(self._ready, "RabbitMQ", timeout, self.root / "server.log")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"RabbitMQ exited with {self.process.returncode}; see {self.root / 'log'}")
        try:
            # The management API answers once the node has booted; AMQP opens a little earlier.
            answer = requests.get(f"{self.management_url}/api/overview", auth=("guest", "guest"), timeout=2)
            if answer.status_code != 200:
                return False
            with Connection(self.uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except (OSError, requests.RequestException):
            return False

    def kill(self) -> None:
        """The node crashes (SIGKILL to the Erlang VM): what it had not written to disk is gone."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def queue_depths(self) -> dict[str, int]:
        """Messages in every queue of the default vhost, ready or unacknowledged."""
        answer = requests.get(f"{self.management_url}/api/queues/%2F", auth=("guest", "guest"), timeout=10,
                              params={"columns": "name,messages"})
        answer.raise_for_status()
        return {queue["name"]: queue.get("messages") or 0 for queue in answer.json()}

    def close(self) -> None:
        self.kill()
        # The port mapper daemonised itself out of the node's process group; it refuses to go ("living nodes
        # in database") until it notices the killed node is gone.
        for _ in range(20):
            answer = subprocess.run(["epmd", "-port", str(self.epmd_port), "-kill"], env=self.env,
                                    capture_output=True, text=True)
            if "Killed" in answer.stdout or "Cannot connect" in answer.stderr:
                break
            time.sleep(0.25)
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_bin(program: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), key=lambda path: int(path.split("/")[4]))
    if found:
        return found[-1]
    return shutil.which(program) or program


class PrivatePostgres:
    """One PostgreSQL cluster (initdb), trust authentication on loopback, in a folder of its own."""

    def __init__(self) -> None:
        # PostgreSQL will not run as root: as root, the cluster belongs to the postgres account.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="mct-faults-postgres-"))
        if self.as_owner:
            shutil.chown(self.root, "postgres")
        self.port = free_port()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.restarts = 0
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, cwd=self.root)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        # fsync off: the campaign crashes the server, not the machine, and the kernel keeps what was written.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def kill(self) -> None:
        """Every server process ends at once, as in a crash: the next start recovers from the WAL."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def database(self, name: str) -> str:
        """A new empty database's URL."""
        postgres_admin(f'CREATE DATABASE "{name}"', self.admin_url)
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def close(self) -> None:
        subprocess.run([*self.as_owner, _postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)
