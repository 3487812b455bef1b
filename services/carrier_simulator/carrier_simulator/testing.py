"""The simulator as a subprocess for tests: independent of the test process's eventlet patching.

    with simulator_process("api-key", "callback-secret") as carrier:
        accepted = carrier.place(order)                  # CarrierOrderSchema JSON -> {"waybill", ...}
        carrier.advance(accepted["waybill"])             # the next scenario event, sent now
        carrier.emit(accepted["waybill"], "delivered", sign="stale", recipient_name="Lan")
        carrier.replay(accepted["waybill"])
        carrier.order(accepted["waybill"])["callbacks"]  # each with event_id, event, status, attempts
"""
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import requests

from motcua.stack import free_port


class SimulatorError(RuntimeError):
    def __init__(self, status: int, body: object):
        super().__init__(f"carrier simulator answered {status}: {body}")
        self.status = status
        self.body = body


class SimulatorClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0):
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout  # above the simulator's callback timeout: a command waits for postal's answer

    def _call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None,
              params: dict | None = None) -> dict:
        response = requests.request(method, self.base_url + path, json=body, params=params, timeout=self.timeout,
                                    headers={"Authorization": f"Bearer {self.api_key}", **(headers or {})})
        payload = response.json()
        if not response.ok:
            raise SimulatorError(response.status_code, payload)
        return payload

    def place(self, order: dict, scenario: str | None = None) -> dict:
        """CarrierOrderAcceptedSchema's JSON: {"waybill", "client_reference", "carrier"}."""
        return self._call("POST", "/v1/orders", order, headers={"X-Simulator-Scenario": scenario} if scenario else None)

    def order(self, waybill: str) -> dict:
        return self._call("GET", f"/v1/orders/{waybill}")

    def advance(self, waybill: str) -> dict:
        """The callback sent: event_id, event, signature, status (postal's), attempts, outcome, payload."""
        return self._call("POST", f"/v1/orders/{waybill}/advance")

    def emit(self, waybill: str, event: str, sign: str = "good", **fields: object) -> dict:
        body = {"event": event, "sign": sign,
                **{name: value.isoformat() if isinstance(value, datetime) else value for name, value in fields.items()}}
        return self._call("POST", f"/v1/orders/{waybill}/events", body)

    def replay(self, waybill: str) -> dict:
        return self._call("POST", f"/v1/orders/{waybill}/replay")

    def healthy(self) -> bool:
        try:
            return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def simulator_process(api_key: str, callback_secret: str | bytes, step_seconds: float = 0, scenario: str = "deliver",
                      env: dict[str, str] | None = None, startup_seconds: float = 20) -> Iterator[SimulatorClient]:
    """Start `python -m carrier_simulator` on a free port, wait for /healthz, and stop it afterwards."""
    secret = callback_secret.decode() if isinstance(callback_secret, bytes) else callback_secret
    log_file = tempfile.NamedTemporaryFile(prefix="carrier-simulator-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    process = None
    try:
        for attempt in range(3):
            port = free_port()
            environment = {**os.environ, "CARRIER_SIMULATOR_HOST": "127.0.0.1",
                           "CARRIER_SIMULATOR_HTTP_PORT": str(port), "CARRIER_SIMULATOR_API_KEY": api_key,
                           "CARRIER_SIMULATOR_CALLBACK_SECRET": secret,
                           "CARRIER_SIMULATOR_STEP_SECONDS": str(step_seconds),
                           "CARRIER_SIMULATOR_SCENARIO": scenario, **(env or {})}
            process = subprocess.Popen([sys.executable, "-m", "carrier_simulator"], env=environment,
                                       stdout=log_file, stderr=subprocess.STDOUT)
            client = SimulatorClient(f"http://127.0.0.1:{port}", api_key)
            deadline = time.monotonic() + startup_seconds
            while process.poll() is None and time.monotonic() < deadline:
                if client.healthy():
                    break
                time.sleep(0.1)
            if process.poll() is None and client.healthy():
                break
            _stop(process)
            output = log_path.read_text(errors="replace")
            # Another process may have taken the free port before the simulator bound it: try another.
            if attempt == 2 or "Address already in use" not in output:
                raise RuntimeError(f"the carrier simulator did not start:\n{output[-3000:]}")
        try:
            yield client
        except Exception:
            # What the carrier saw explains most failures of a test driving it: pytest shows stderr.
            sys.stderr.write(f"carrier simulator log:\n{log_path.read_text(errors='replace')[-5000:]}\n")
            raise
    finally:
        if process is not None:
            _stop(process)
        log_file.close()
        log_path.unlink(missing_ok=True)
