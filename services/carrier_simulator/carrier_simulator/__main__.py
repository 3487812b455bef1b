"""`python -m carrier_simulator`: serve the carrier API until SIGTERM or SIGINT.

Environment: CARRIER_SIMULATOR_API_KEY and CARRIER_SIMULATOR_CALLBACK_SECRET (required),
CARRIER_SIMULATOR_HOST (127.0.0.1), CARRIER_SIMULATOR_HTTP_PORT (8006), CARRIER_SIMULATOR_STEP_SECONDS
(0: orders move only on command), CARRIER_SIMULATOR_SCENARIO (deliver, fail_then_deliver, return),
CARRIER_SIMULATOR_NAME, CARRIER_SIMULATOR_RETRY_SECONDS (1), CARRIER_SIMULATOR_RETRY_ATTEMPTS (5),
CARRIER_SIMULATOR_CALLBACK_TIMEOUT (5).
"""
import logging
import signal
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from carrier_simulator.simulator import Settings, Simulator
from carrier_simulator.web import create_app
from motcua import config
from motcua.logs import configure_logging

log = logging.getLogger("carrier_simulator")


class RequestHandler(WSGIRequestHandler):
    """One JSON log line per request, without the terminal colours Werkzeug adds to its own."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("request", extra={"method": self.command, "path": self.path, "status": code})


def main() -> None:
    configure_logging("carrier_simulator", config.env("LOG_LEVEL", "INFO"))
    settings = Settings.from_env()
    simulator = Simulator(settings)
    host, port = config.env("CARRIER_SIMULATOR_HOST", "127.0.0.1"), config.http_port("carrier_simulator")
    server = make_server(host, port, create_app(simulator), threaded=True,
                         request_handler=RequestHandler)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    # serve_forever runs in a thread: shutdown() called from the thread serving would wait for itself.
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http")
    serving.start()
    simulator.start()
    log.info("carrier simulator listening", extra={"host": host, "port": port, "carrier": settings.carrier_name,
                                                   "step_seconds": settings.step_seconds,
                                                   "scenario": settings.scenario})
    while not stopping.wait(0.5):
        pass
    log.info("carrier simulator stopping")
    simulator.stop()
    server.shutdown()
    serving.join()
    server.server_close()


if __name__ == "__main__":
    main()
