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
    def __init__(self, env: dict[str, str], ports: dict[str, int], log_dir: Path):
        self.ports = ports
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, **self.carrier_settings(), **env}
        # The gateway's metrics have a port of their own (motcua.web.MetricsPort): a free one, like the rest.
        self.env.setdefault("GATEWAY_METRICS_PORT", str(free_port()))
        if "gateway" in ports:
            # Every process knows where the portal is: notify's links follow it unless NOTIFY_PORTAL_URL is set.
            self.env["GATEWAY_HTTP_PORT"] = str(ports["gateway"])

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
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._run("-m", "motcua.topology", str(BROKER_DEFINITIONS))
        for service in services:
            self.spawn(service)
            self.wait_ready(service, timeout)

    def environment(self, service: str) -> dict[str, str]:
        """The environment one service's process runs with."""
        return dict(self.env, **{f"{service.upper()}_HTTP_PORT": str(self.ports[service]), "HTTP_HOST": "127.0.0.1"})

    def spawn(self, service: str) -> None:
        """Start one service's process, without waiting for it to be ready."""
        args, _ = program(service)
        with open(self.log_dir / f"{service}.log", "ab") as log:
            self.processes[service] = subprocess.Popen(
                [sys.executable, *args], env=self.environment(service), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop them in order
            )

    def kill(self, service: str) -> None:
        """End a service as a crash or the kernel's OOM killer would (SIGKILL): no shutdown code runs."""
        process = self.processes[service]
        process.kill()
        process.wait()

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def metrics_url(self, service: str) -> str:
        """Where Prometheus scrapes a service: the gateway's metrics port, the others' HTTP port."""
        if service == "gateway":
            return f"http://127.0.0.1:{self.env['GATEWAY_METRICS_PORT']}/metrics"
        return self.url(service, "/metrics")

    def wait_ready(self, service: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(f"{service} exited with {process.returncode}; see {self.log_dir / service}.log")
            if http_ok(self.url(service, program(service)[1])):
                return
            time.sleep(0.3)
        raise TimeoutError(f"{service} not ready after {timeout:.0f} s; see {self.log_dir / service}.log")

    def stop_service(self, service: str, timeout: float = 15) -> None:
        process = self.processes.pop(service, None)
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
