"""Start one service as its own process: `python -m motcua.serve <service>`.

Configuration comes from environment variables (docs/architecture.md section 9), so the
same command runs under `make run`, docker compose and Kubernetes.
"""
import warnings

warnings.filterwarnings("ignore", message="\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402

from nameko.cli.run import run  # noqa: E402

from motcua.config import amqp_uri, database_url, env, env_int, http_port, metrics_port  # noqa: E402
from motcua.logs import configure_logging  # noqa: E402
from motcua.messaging import RETRY_DELAYS_SECONDS  # noqa: E402


def service_config(service: str) -> dict:
    host = env("HTTP_HOST", "0.0.0.0")
    return {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": f"{host}:{http_port(service)}",
        "METRICS_ADDRESS": f"{host}:{metrics_port(service)}",  # used by a service with a MetricsPort
        "DATABASE_URL": database_url(service),
        "max_workers": env_int("MAX_WORKERS", 10),
        "parent_calls_tracked": 10,
        "serializer": "json",
        # The delay before each retry of a failed message, then its dead-lettering: "1,5,30,120,600".
        "RETRY_DELAYS_SECONDS": tuple(int(part) for part in env(
            "MOTCUA_RETRY_DELAYS_SECONDS", ",".join(map(str, RETRY_DELAYS_SECONDS))).split(",")),
    }


def service_class(service: str) -> type:
    """The nameko service class `<service>.service` defines: the one named `service` (e.g. StatusService)."""
    module = importlib.import_module(f"{service}.service")
    return next(value for value in vars(module).values()
                if isinstance(value, type) and value.__module__ == module.__name__
                and getattr(value, "name", None) == service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", help="catalog, intake, status, notify, postal or gateway")
    args = parser.parse_args()
    configure_logging(args.service, env("LOG_LEVEL", "INFO"))
    run([service_class(args.service)], service_config(args.service))


if __name__ == "__main__":
    main()
