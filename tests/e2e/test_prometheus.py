"""The running system as city operations watch it: Debian's Prometheus server scrapes every service with the
project's own alert rules loaded; dossiers driven through submission, acceptance and completion move the received,
completed and on-time numbers read back through Prometheus's HTTP API, and a poisoned message makes the dead-letter
alert fire."""
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from kombu import Connection

from motcua.samples import SAMPLE_PDF, sample_submission
from motcua.stack import BROKER_DEFINITIONS, PROGRAMS, free_port
from tests.support import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules/motcua.yml"
BIRTH, COMMUNE = "1.001193", "000.00.51.H24"


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    """Prometheus on a free port, scraping each service of the stack every second with the rules of deploy/."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    assert Path(binary).exists(), "Debian's prometheus is missing: run scripts/test_prerequisites.py"
    root, port = tmp_path_factory.mktemp("prometheus"), free_port()
    scraped = {service: urlsplit(stack.metrics_url(service)) for service in stack.ports if service not in PROGRAMS}
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": service, "metrics_path": address.path,
                            "static_configs": [{"targets": [address.netloc]}]} for service, address in scraped.items()],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    with open(root / "prometheus.log", "wb") as log:
        server = subprocess.Popen([binary, f"--config.file={root / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _answers(f"{base}/-/ready"), seconds=30), (root / "prometheus.log").read_text()[-2000:]
        # Every service scraped and its samples queryable (a target list still empty would pass an all()).
        assert wait_for(lambda: value(base, "count(up == 1)") == len(scraped), seconds=30), _targets(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _targets(base: str) -> list[dict]:
    return requests.get(f"{base}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]


def value(base: str, query: str) -> float:
    """The instant value of a query that sums to one number; 0 when it has no series yet."""
    answer = requests.get(f"{base}/api/v1/query", params={"query": query}, timeout=10).json()
    assert answer["status"] == "success", answer
    return sum(float(sample["value"][1]) for sample in answer["data"]["result"])


def test_received_completed_and_on_time_move_as_dossiers_go_through(stack, api, token, prometheus):
    submitted = f'sum(motcua_dossiers_submitted_total{{procedure="{BIRTH}",agency="{COMMUNE}"}})'
    received = f'sum(motcua_dossiers_received_total{{procedure="{BIRTH}",agency="{COMMUNE}"}})'
    on_time = f'sum(motcua_dossiers_completed_total{{agency="{COMMUNE}",timeliness="on_time"}})'
    late = f'sum(motcua_dossiers_completed_total{{agency="{COMMUNE}",timeliness="late"}})'
    before = {name: value(prometheus, query) for name, query in
              (("submitted", submitted), ("received", received), ("on_time", on_time), ("late", late))}

    definition = api("GET", f"/procedures/{BIRTH}").json()
    codes = []
    for _ in range(3):
        answer = api("POST", "/dossiers", json=sample_submission(definition),
                     headers={"Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["dossier_code"])
    receptionist = {"Authorization": f"Bearer {token(COMMUNE, 'receptionist')}"}
    approver = {"Authorization": f"Bearer {token(COMMUNE, 'approver')}"}

    def act(headers: dict, code: str, **command) -> dict:
        answer = api("POST", f"/desk/dossiers/{code}/actions", json=command,
                     headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 200, answer.text
        return answer.json()

    for code in codes[:2]:
        act(receptionist, code, action="accept")
        act(receptionist, code, action="assign", assignee="cb-vinhbao-01")
    # Completion comes later in life than a scrape: the completed series, born at 0 with the registration,
    # have been seen before the first completion, so increase() counts it.
    born = f'motcua_dossiers_completed_total{{procedure="{BIRTH}",agency="{COMMUNE}",timeliness="on_time"}}'
    assert wait_for(lambda: value(prometheus, f"count(count_over_time({born}[1m]) >= 2)") >= 1, seconds=30)
    detail = api("GET", f"/desk/dossiers/{codes[0]}", headers=approver).json()
    completed = api("POST", f"/desk/dossiers/{codes[0]}/actions",
                    headers={**approver, "Idempotency-Key": uuid.uuid4().hex},
                    files={"result_document": ("trich-luc.pdf", SAMPLE_PDF, "application/pdf")},
                    data={"command": json.dumps({"action": "complete", "expected_version": detail["version"]})})
    assert completed.status_code == 200, completed.text

    expected = {"submitted": 3, "received": 2, "on_time": 1, "late": 0}
    queries = {"submitted": submitted, "received": received, "on_time": on_time, "late": late}

    def moved() -> dict:
        return {name: value(prometheus, query) - before[name] for name, query in queries.items()}

    assert wait_for(lambda: moved() == expected, seconds=30), moved()
    # As the dashboards and the on-time alert read it: the series existed at 0 before the first completion.
    on_time_share = (f'sum(increase(motcua_dossiers_completed_total{{agency="{COMMUNE}",timeliness="on_time"}}[10m]))'
                     f' / sum(increase(motcua_dossiers_completed_total{{agency="{COMMUNE}"}}[10m]))')
    assert wait_for(lambda: value(prometheus, on_time_share) == pytest.approx(1.0), seconds=30), \
        value(prometheus, on_time_share)


def test_a_poisoned_message_makes_the_dead_letter_alert_fire(stack, prometheus):
    firing = 'ALERTS{alertname="MotCuaDeadLettersPresent",alertstate="firing"}'
    assert value(prometheus, f"count({firing})") == 0
    definitions = json.loads(Path(BROKER_DEFINITIONS).read_text(encoding="utf-8"))
    queue = next(binding["destination"] for binding in definitions["bindings"]
                 if binding["destination"].endswith("--notify.on_dossier_submitted"))
    with Connection(stack.env["AMQP_URI"]) as conn:
        conn.Producer().publish(b"\x00 not json at all", exchange="", routing_key=queue,
                                content_type="application/json", content_encoding="binary", delivery_mode=2)
    # The rule's own `for:` is waited out: the alert fires as it would for operations.
    assert wait_for(lambda: value(prometheus, f"count({firing})") >= 1, seconds=60 + _for_seconds(
        "MotCuaDeadLettersPresent")), requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()


def _for_seconds(alert: str) -> float:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                text = rule.get("for", "0s")
                return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]
    raise AssertionError(f"{alert} is not in {RULES}")
