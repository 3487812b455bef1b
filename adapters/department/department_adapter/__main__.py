"""`python -m department_adapter` (or `motcua-department-adapter`): run until SIGTERM or SIGINT.

Configured by environment variables; README.md lists them.
"""
import logging
import os
import signal

from department_adapter.adapter import Adapter
from department_adapter.config import Config, ConfigError
from department_adapter.handlers import load_handler
from department_adapter.logs import configure_logging

log = logging.getLogger("department_adapter")


def main() -> int:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        config = Config.from_env()
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    adapter = Adapter(config, load_handler(config))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: adapter.stop())
    log.info("department adapter starting", extra={"agency_code": config.agency_code, "handler": config.handler})
    adapter.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
