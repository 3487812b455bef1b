"""Start the whole system as separate processes on one machine, and stop it again.

Used by `make run`, the end-to-end tests and the benchmarks, so all three run the
services exactly as a deployment does: `python -m motcua.serve <service>`, one process
each, configured by environment variables. The carrier simulator stands in for the
postal operator (`python -m carrier_simulator`); postal and it share an API key and a
callback secret made for this run only.
"""
from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import sqlalchemy as sa

# Every handler's queue is declared from the broker definitions before anything starts, so the
# order only matters for readiness: the carrier simulator before postal, which places orders with
# it, and the gateway, through which the first dossiers and pickups arrive, last.
START_ORDER = ("carrier_simulator", "notify", "postal", "status", "intake", "catalog", "gateway")
WITH_DATABASE = ("catalog", "intake", "status", "notify", "postal")
# Not nameko services: the program each runs, and the path that answers once it is ready.
PROGRAMS = {"carrier_simulator": (("-m", "carrier_simulator"), "/healthz")}
SEED_CATALOGUE = Path(__file__).resolve().parents[3] / "services/catalog/catalog/seed/haiphong.yaml"
BROKER_DEFINITIONS = Path(__file__).resolve().parents[3] / "deploy/rabbitmq/definitions.json"


def program(service: str) -> tuple[tuple[str, ...], str]:
    return PROGRAMS.get(service, (("-m", "motcua.serve", service), "/readyz"))


def replica_name(service: str, number: int) -> str:
    """A process's name: the service's own for its first replica, `<service>-<n>` for the n-th after it."""
    return service if number == 1 else f"{service}-{number}"


def service_of(name: str) -> str:
    """The service a process (`replica_name`) runs."""
    service, _, number = name.rpartition("-")
    return service if number.isdigit() else name


POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def postgres_admin(statement: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    """Run CREATE/DROP DATABASE, which cannot run inside a transaction."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def create_postgres_database(prefix: str, service: str) -> tuple[str, str]:
    """A new empty database for a throwaway run: (its name, its URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}_{service}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    return name, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(name: str) -> None:
    postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ephemeral_port_floor() -> int:
    """The lowest port the kernel hands out for bind(0) and outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, for a child process to bind a moment later.

    Taken below the kernel's ephemeral range: a port from bind(0) is released before the child
    binds it, and in between the kernel may give it to any outgoing connection (seen: notify failing
    with EADDRINUSE in the shared end-to-end stack). Below the range only an explicit bind takes it."""
    floor = ephemeral_port_floor()
    candidates = random.Random().sample(range(max(1024, floor - 20000), floor), 200)
    for port in candidates:
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def amqp_reachable(host: str = "127.0.0.1", port: int = 5672) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class LocalStack:
    """The services as processes: `ports` has each service's (its first replica's) HTTP port; `replicas` asks
    for more processes of a service (`<service>-2`, ...: see replica_name), each on a free port of its own,
    all sharing the service's databases and queues as a deployment's replicas do."""

    def __init__(self, env: dict[str, str], ports: dict[str, int], log_dir: Path,
                 replicas: dict[str, int] | None = None):
        self.ports = ports
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, **self.carrier_settings(), **env}
        # The gateway's metrics have a port of their own (motcua.web.MetricsPort): a free one, like the rest.
        self.env.setdefault("GATEWAY_METRICS_PORT", str(free_port()))
        if "gateway" in ports:
            # Every process knows where the portal is: notify's links follow it unless NOTIFY_PORTAL_URL is set.
            self.env["GATEWAY_HTTP_PORT"] = str(ports["gateway"])
        self.replicas = {service: (replicas or {}).get(service, 1) for service in ports}
        self.replica_ports = {replica_name(service, n): free_port()
                              for service, count in self.replicas.items() for n in range(2, count + 1)}
        self.replica_metrics_ports = {name: free_port() for name in self.replica_ports if service_of(name) == "gateway"}

    def instances(self, service: str) -> list[str]:
        """The names of a service's processes, its first replica first."""
        return [replica_name(service, n) for n in range(1, self.replicas[service] + 1)]

    def port(self, name: str) -> int:
        """The HTTP port of a service (its first replica) or of one replica by name."""
        return self.ports[name] if name in self.ports else self.replica_ports[name]

    def carrier_settings(self) -> dict[str, str]:
        """Postal speaks to the simulator and the simulator calls postal back, with an API key and a
        callback secret made for this run only (never written anywhere)."""
        if not {"postal", "carrier_simulator"} <= set(self.ports):
            return {}
        api_key, callback_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        return {
            "POSTAL_CARRIER_URL": self.url("carrier_simulator"),
            "POSTAL_CARRIER_API_KEY": api_key,
            "CARRIER_SIMULATOR_API_KEY": api_key,
            "POSTAL_CARRIER_CALLBACK_SECRET": callback_secret,
            "CARRIER_SIMULATOR_CALLBACK_SECRET": callback_secret,
            "POSTAL_CALLBACK_URL": self.url("postal", "/callbacks/carrier"),
            "CARRIER_SIMULATOR_HOST": "127.0.0.1",
        }

    @property
    def carrier_api_key(self) -> str:
        """What the simulator's order and control API (`/v1/...`) wants as its Bearer key."""
        return self.env["CARRIER_SIMULATOR_API_KEY"]

    @property
    def carrier_callback_secret(self) -> str:
        """What postal verifies the carrier's callbacks with."""
        return self.env["POSTAL_CARRIER_CALLBACK_SECRET"]

    def _run(self, *args: str) -> None:
        subprocess.run([sys.executable, *args], env=self.env, check=True)

    def migrate(self) -> None:
        for service in WITH_DATABASE:
            self._run("-m", "motcua.migrations", service)

    def seed(self, path: Path = SEED_CATALOGUE) -> None:
        self._run("-m", "catalog.cli", "import", str(path))

    def start(self, services=START_ORDER, timeout: float = 60) -> None:
        """Start each service's replicas together, and wait for them to be ready before the next service."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._run("-m", "motcua.topology", str(BROKER_DEFINITIONS))
        for service in services:
            for name in self.instances(service):
                self.spawn(name)
            for name in self.instances(service):
                self.wait_ready(name, timeout)

    def environment(self, name: str) -> dict[str, str]:
        """The environment one service's process (or one replica's, by name) runs with."""
        service = service_of(name)
        own = {f"{service.upper()}_HTTP_PORT": str(self.port(name)), "HTTP_HOST": "127.0.0.1"}
        if name in self.replica_metrics_ports:
            own["GATEWAY_METRICS_PORT"] = str(self.replica_metrics_ports[name])
        return dict(self.env, **own)

    def spawn(self, name: str) -> None:
        """Start one service's process (or one replica's, by name), without waiting for it to be ready."""
        args, _ = program(service_of(name))
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args], env=self.environment(name), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop them in order
            )

    def kill(self, name: str) -> None:
        """End a service as a crash or the kernel's OOM killer would (SIGKILL): no shutdown code runs."""
        process = self.processes[name]
        process.kill()
        process.wait()

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port(name)}{path}"

    def metrics_url(self, name: str) -> str:
        """Where Prometheus scrapes a service (or one replica, by name): the gateway's metrics port, the others'
        HTTP port."""
        if service_of(name) == "gateway":
            return f"http://127.0.0.1:{self.replica_metrics_ports.get(name, self.env['GATEWAY_METRICS_PORT'])}/metrics"
        return self.url(name, "/metrics")

    def wait_ready(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
            if http_ok(self.url(name, program(service_of(name))[1])):
                return
            time.sleep(0.3)
        raise TimeoutError(f"{name} not ready after {timeout:.0f} s; see {self.log_dir / name}.log")

    def stop_service(self, name: str, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for service in reversed(list(self.processes)):
            self.stop_service(service)

    def __enter__(self) -> "LocalStack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
