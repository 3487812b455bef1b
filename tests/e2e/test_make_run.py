"""`make run`'s script, as a newcomer runs it: everything starts, works, and stops on Ctrl-C."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from motcua.samples import SAMPLE_PDF, sample_submission
from motcua.stack import START_ORDER, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def book_pickup(base: str) -> dict:
    """A pickup for tomorrow morning in Hải Phòng, at the fee the API quotes."""
    fee = requests.get(f"{base}/api/v1/pickups/quote", params={"procedure_code": "1.001193", "province": "Hải Phòng"},
                       timeout=10)
    assert fee.status_code == 200, fee.text
    tomorrow = datetime.now(timezone(timedelta(hours=7))).replace(hour=8, minute=0, second=0, microsecond=0) \
        + timedelta(days=1)
    booked = requests.post(f"{base}/api/v1/pickups", timeout=30, json={
        "procedure_code": "1.001193", "applicant": {"full_name": "Trần Thị Cúc", "phone": "0912345678"},
        "address": {"province": "Hải Phòng", "commune": "Phường Hồng Bàng", "street": "12 Lê Lợi"},
        "window": {"start": tomorrow.isoformat(), "end": (tomorrow + timedelta(hours=3)).isoformat()},
        "quoted_fee_vnd": fee.json()["fee_vnd"]})
    assert booked.status_code == 201, booked.text
    return booked.json()


def test_the_local_run_starts_everything_serves_a_citizen_and_stops_on_ctrl_c(own_vhost, tmp_path):
    ports, metrics_port = {service: free_port() for service in START_ORDER}, free_port()
    env = dict(os.environ, MOTCUA_VAR_DIR=str(tmp_path / "var"), NOTIFY_SMTP_PORT=str(free_port()),
               GATEWAY_METRICS_PORT=str(metrics_port),
               AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{quote(own_vhost, safe='')}",
               CARRIER_SIMULATOR_STEP_SECONDS="1",  # the simulated post office on its schedule, quickly
               **{f"{service.upper()}_HTTP_PORT": str(port) for service, port in ports.items()})
    env.pop("JWT_SECRET", None)
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts/run_local.py")], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{ports['gateway']}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert requests.get(f"{base}/", timeout=10).status_code == 200
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert "motcua_entrypoint_calls_total" in metrics.text  # the gateway's, on their own port
        for service in ("postal", "carrier_simulator"):
            assert requests.get(f"http://127.0.0.1:{ports[service]}/healthz", timeout=10).status_code == 200, service
        pickup = book_pickup(base)
        definition = requests.get(f"{base}/api/v1/procedures/1.001193", timeout=10).json()
        submission = sample_submission(definition, channel="counter")
        files = [(f"document.{a['document_code']}", (a["filename"], SAMPLE_PDF, "application/pdf"))
                 for a in submission.pop("attachments")]
        created = requests.post(f"{base}/api/v1/dossiers", data={"submission": json.dumps(submission)},
                                files=files, timeout=30)
        assert created.status_code == 201, created.text
        code = created.json()["dossier_code"]
        mail_log = tmp_path / "var" / "log" / "mail.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and code not in (mail_log.read_text(errors="replace")
                                                            if mail_log.exists() else ""):
            time.sleep(0.5)
        assert code in mail_log.read_text(errors="replace"), "the receipt e-mail never reached the local sink"
        # Its link leads to this run's portal, on the gateway's port (not the default 8000); it names the
        # commune as the catalogue does.
        with sqlite3.connect(tmp_path / "var" / "notify.db") as notify_db:
            bodies = [body for (body,) in notify_db.execute(
                "SELECT body FROM notification WHERE dossier_code = ?", (code,))]
        assert bodies and all(f"http://localhost:{ports['gateway']}/tra-cuu?code=" in body for body in bodies)
        assert any("tiếp nhận tại Ủy ban nhân dân xã Vĩnh Bảo" in body for body in bodies)
        assert (tmp_path / "var" / "local-jwt-secret").exists()
        # The seeded receptionist signs in at the desk and sees the commune's dossier.
        passwords = json.loads((tmp_path / "var" / "officials-passwords.json").read_text())
        signed_in = requests.post(f"{base}/can-bo/dang-nhap", timeout=30, allow_redirects=False,
                                  data={"username": "tiepnhan.vinhbao", "password": passwords["tiepnhan.vinhbao"]})
        assert signed_in.status_code == 303, signed_in.text
        session = signed_in.cookies.get("__Host-motcua-session")
        work_list = requests.get(f"{base}/can-bo/ho-so", timeout=30,
                                 headers={"Cookie": f"__Host-motcua-session={session}"})
        assert work_list.status_code == 200 and code in work_list.text
        # Meanwhile the simulated post office collected the pickup and handed it over: a dossier, by post.
        deadline, view = time.monotonic() + 60, {}
        while time.monotonic() < deadline and view.get("state") != "registered":
            time.sleep(1)
            view = requests.get(f"{base}/api/v1/pickups/{pickup['pickup_id']}", timeout=10,
                                headers={"X-Tracking-Key": pickup["tracking_key"]}).json()
        assert view["state"] == "registered", view
        dossier = requests.get(f"{base}/api/v1/dossiers/{view['dossier_code']}", timeout=10,
                               headers={"X-Tracking-Key": pickup["tracking_key"]})
        assert dossier.status_code == 200 and dossier.json()["channel"] == "postal"
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=90)[0].decode(errors="replace")
    assert "Mot Cua is running" in output and "stopping" in output
    assert "The post office is simulated" in output
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
