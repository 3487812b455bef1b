"""Configuration from environment variables, with defaults that run on one machine.

Every setting has a safe default so `make run` works with nothing set; compose and
Kubernetes override them. Secrets have no default that could ship to production.
"""
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


# Each service's HTTP port (API, probes, metrics), overridable as <SERVICE>_HTTP_PORT.
DEFAULT_PORTS = {"gateway": 8000, "catalog": 8001, "intake": 8002, "status": 8003, "notify": 8004, "postal": 8005,
                 "carrier_simulator": 8006}


# Where a service whose HTTP port is public (the gateway) serves its metrics, as <SERVICE>_METRICS_PORT.
DEFAULT_METRICS_PORT = 8100


def http_port(service: str) -> int:
    return env_int(f"{service.upper()}_HTTP_PORT", DEFAULT_PORTS.get(service, 8080))


def metrics_port(service: str) -> int:
    return env_int(f"{service.upper()}_METRICS_PORT", DEFAULT_METRICS_PORT)


def http_socket_timeout() -> float:
    """Seconds an HTTP connection may sit idle or send slowly before every server of a service closes it."""
    return env_float("HTTP_SOCKET_TIMEOUT_SECONDS", 30.0)


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(env(name, str(default)))


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


def var_dir() -> Path:
    """Where the single-machine run keeps its SQLite files and attachments."""
    return Path(env("MOTCUA_VAR_DIR", "var")).resolve()


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, else an SQLite file of that service under var/.

    Each service owns its own database: there is deliberately no shared default URL.
    """
    url = env(f"{service.upper()}_DATABASE_URL")
    if url:
        return url
    path = var_dir() / f"{service}.db"
    return f"sqlite:///{path}"


DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672//"


def amqp_uri() -> str:
    """The broker, for every service (motcua.serve) and every operator's command alike."""
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def vhost_of(uri: str) -> str:
    """The RabbitMQ vhost an AMQP URI names: `/` when its path is empty or `//`."""
    path = urlsplit(uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def without_password(uri: str) -> str:
    """The URI as it may be shown on a terminal or in a log: its password masked."""
    parts = urlsplit(uri)
    credentials, at, address = parts.netloc.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    shown = f"{user}:***@" if has_password else f"{user}{at}"
    return urlunsplit(parts._replace(netloc=shown + address))


def command_broker(command: str) -> str:
    """The broker an operator's command acts on, read as the services read it (`amqp_uri`), and named on
    stderr before the command acts: a shell without AMQP_URI reaches the default vhost, perhaps another
    stack's, so the operator sees which one."""
    uri = amqp_uri()
    source = "AMQP_URI" if env("AMQP_URI") else "the default: AMQP_URI is not set"
    print(f"{command}: broker {without_password(uri)}, vhost {vhost_of(uri)!r} ({source})", file=sys.stderr)
    return uri
