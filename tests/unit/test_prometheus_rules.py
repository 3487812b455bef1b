"""The Prometheus configuration and alert rules of deploy/, checked with Debian's promtool (2.42):
`check config`, `check rules` and the rules' unit tests (`promtool test rules deploy/prometheus/tests/*.yml`).
Then what promtool cannot see: every alert is tested firing and staying quiet, carries a severity and says
what to do, uses only the metrics of docs/metrics.md (the contract with the services), RabbitMQ's plugin's,
`up` and the rules' own recordings, and Kubernetes' PrometheusRule carries exactly the same groups.

promtool is required, not optional: `scripts/test_prerequisites.py` (run by `make test`) installs it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
RULES = ROOT / "deploy/prometheus/rules/motcua.yml"
RULE_TESTS = sorted((ROOT / "deploy/prometheus/tests").glob("*.yml"))
PROMETHEUS_RULE = ROOT / "deploy/k8s/base/prometheusrule.yaml"
METRICS_DOC = ROOT / "docs/metrics.md"
SEVERITIES = {"page", "ticket"}

PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "offset", "bool", "inf", "nan"}


MISSING = ("promtool is not installed: run `.venv/bin/python scripts/test_prerequisites.py` (as root), which "
           "installs Debian's prometheus package (promtool) without starting its daemon")


def require_promtool() -> str:
    """promtool's path; without it the test fails (never skips): the rules would go unchecked."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(MISSING, pytrace=False)
    return found


@pytest.fixture(scope="module")
def promtool_runs() -> dict[str, subprocess.CompletedProcess]:
    """Every promtool command at once (the rule tests take seconds each), keyed by what it checks."""
    promtool = require_promtool()
    commands = {"config": [promtool, "check", "config", str(CONFIG)],
                "rules": [promtool, "check", "rules", str(RULES)]}
    commands |= {path.name: [promtool, "test", "rules", path.name] for path in RULE_TESTS}
    started = {key: subprocess.Popen(command, cwd=ROOT / "deploy/prometheus/tests", stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
               for key, command in commands.items()}
    results = {}
    for key, process in started.items():
        output, _ = process.communicate(timeout=600)
        results[key] = subprocess.CompletedProcess(commands[key], process.returncode, output)
    return results


@pytest.fixture
def promtool_run(request):
    """The result of one promtool command, run when the test asks for it: so that a missing promtool fails the
    test itself (not its set-up, not a skip)."""

    def run(key: str) -> subprocess.CompletedProcess:
        require_promtool()
        return request.getfixturevalue("promtool_runs")[key]

    return run


def test_promtool_is_installed():
    assert "promtool" in require_promtool()


def rule_groups() -> list[dict]:
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]


def rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def alert_tests() -> list[dict]:
    return [case for path in RULE_TESTS for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
            for case in test.get("alert_rule_test", [])]


def test_the_compose_configuration_is_valid_with_its_rule_files(promtool_run):
    run = promtool_run("config")
    assert run.returncode == 0, run.stdout
    assert "SUCCESS" in run.stdout and str(RULES.relative_to(CONFIG.parent)) in run.stdout, run.stdout


def test_the_rules_are_valid(promtool_run):
    run = promtool_run("rules")
    assert run.returncode == 0, run.stdout
    assert f"SUCCESS: {len(rules())} rules found" in run.stdout, run.stdout


def test_there_are_rule_unit_tests():
    assert len(RULE_TESTS) >= 5
    for path in RULE_TESTS:
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["rule_files"] == ["../rules/motcua.yml"], path.name


@pytest.mark.parametrize("name", [path.name for path in RULE_TESTS])
def test_the_rules_unit_tests_pass(promtool_run, name):
    run = promtool_run(name)
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout[-8000:]


@pytest.mark.parametrize("alert", sorted({rule["alert"] for rule in alerts()}))
def test_every_alert_is_tested_firing_and_quiet(alert):
    cases = [case for case in alert_tests() if case["alertname"] == alert]
    fired = {expected["exp_labels"]["severity"] for case in cases for expected in case.get("exp_alerts") or []}
    assert fired == {rule["labels"]["severity"] for rule in alerts() if rule["alert"] == alert}, (alert, fired)
    assert [case for case in cases if not case.get("exp_alerts")], f"{alert} is never tested staying quiet"


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: f"{rule['alert']}-{rule['labels'].get('severity')}")
def test_every_alert_has_a_severity_and_says_what_happened_and_what_to_do(rule):
    assert rule["labels"]["severity"] in SEVERITIES
    assert set(rule["annotations"]) == {"summary", "description", "runbook"}
    for name, text in rule["annotations"].items():
        assert len(text) > (20 if name == "summary" else 80), (name, text)
        assert text.isascii(), (name, text)  # English, for whoever is on call


def test_recording_rules_follow_the_naming_convention():
    """level:metric:operations, as Prometheus's documentation names recordings."""
    recorded = [rule["record"] for rule in rules() if "record" in rule]
    assert recorded and len(recorded) == len(set(recorded))
    for name in recorded:
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", name), name


def documented_metrics() -> set[str]:
    """The names in docs/metrics.md's tables, with a histogram's series (_bucket, _count, _sum)."""
    names = set()
    for name, kind in re.findall(r"^\| `([a-z_:]+)` \| (\w+) \|", METRICS_DOC.read_text(encoding="utf-8"), re.M):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords, label names
    (in braces or in by/on/... lists), strings, durations or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+\w+", " ", text)
    found = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in PROMQL_KEYWORDS:
            found.add(name)
    return found


def test_metric_names_are_read_correctly_from_expressions():
    assert metric_names('sum by (queue) (increase(motcua_x_total{queue=~"a.b"}[15m])) > 0 '
                        'unless on (job) up offset 1d or vector(0) and ignoring(le) a:b:c') == {
        "motcua_x_total", "up", "a:b:c"}


def test_every_metric_the_rules_use_is_in_the_contract_or_rabbitmqs_or_recorded_here():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    allowed = documented_metrics() | recorded | {"up"}
    assert {"motcua_entrypoint_calls_total", "motcua_dossiers_overdue"} <= allowed  # the tables were read
    used = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    unknown = {name for name in used - allowed if not name.startswith("rabbitmq_")}
    assert not unknown, f"not in docs/metrics.md (nor RabbitMQ's plugin, up or a recording rule): {sorted(unknown)}"
    # RabbitMQ's names are the plugin's that docs/metrics.md names for queue depth.
    rabbit = {name for name in used if name.startswith("rabbitmq_")}
    assert rabbit and all(f"`{name}`" in METRICS_DOC.read_text(encoding="utf-8") for name in rabbit), rabbit


def test_every_recording_is_used_by_another_rule():
    for rule in rules():
        if "record" in rule:
            assert [other for other in rules() if rule["record"] in metric_names(other["expr"])], rule["record"]


def test_the_kubernetes_prometheus_rule_carries_exactly_the_same_groups():
    resource = yaml.safe_load(PROMETHEUS_RULE.read_text(encoding="utf-8"))
    assert resource["apiVersion"] == "monitoring.coreos.com/v1" and resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == rule_groups()
    check = subprocess.run([sys.executable, "scripts/prometheus_rule.py", "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text(encoding="utf-8"))
    assert PROMETHEUS_RULE.name in kustomization["resources"]
