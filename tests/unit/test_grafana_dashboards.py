"""deploy/grafana, checked offline: the dashboards are valid, query only the metrics docs/metrics.md promises
(and RabbitMQ's plugin's and `up`), every query parses as PromQL (Debian's promtool), and compose and
Kubernetes both provision the same files."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PROVIDER = GRAFANA / "provisioning/dashboards/motcua.yml"
DATASOURCES = GRAFANA / "provisioning/datasources/prometheus.yml"

# Not ours: RabbitMQ's Prometheus plugin, its detailed endpoint (/metrics/detailed; families queue_coarse_metrics
# and queue_consumer_count), and the series Prometheus writes for every target.
RABBITMQ_PLUGIN = {name: {"queue", "vhost"} for name in (
    "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers")}
PROMETHEUS_OWN = {"up": set()}
TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")

# Grafana's built-in variables, replaced by values of their kind before promtool reads the query.
BUILT_INS = {"__rate_interval": "1m", "__interval": "1m", "__range": "7d", "__range_s": "604800",
             "__interval_ms": "60000", "__range_ms": "604800000"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(dashboard: dict) -> list[dict]:
    """Every panel, rows and the panels inside collapsed rows included."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target, and of every query variable's series selector."""
    found = [(f"panel {panel['id']} {panel['title']!r} target {t['refId']}", t["expr"])
             for panel in panels(dashboard) for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["definition"], flags=re.S)
            assert match, f"variable {variable['name']}: only label_values(selector, label) is expected"
            found.append((f"variable {variable['name']}", match[1]))
    return found


def substitute(expr: str, dashboard: dict) -> str:
    """The query as Prometheus receives it, with every Grafana variable given a value of its kind."""
    values = dict(BUILT_INS)
    for variable in dashboard["templating"]["list"]:
        values[variable["name"]] = variable.get("allValue") or ".*"

    def value(match):
        name = match[1] or match[2] or match[3]
        assert name in values, f"{name!r} is neither a variable of the dashboard nor Grafana's: {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", value, expr)


def documented_metrics() -> dict[str, tuple[str, set[str]]]:
    """docs/metrics.md's tables: metric name -> (type, labels)."""
    metrics = {}
    for line in (ROOT / "docs/metrics.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`\w+`", cells[0]):
            labels = {label.strip() for label in cells[2].split(",") if label.strip()}
            metrics[cells[0].strip("`")] = (cells[1], labels)
    return metrics


def allowed_metrics() -> dict[str, set[str]]:
    """Every series name a dashboard may read -> the labels it may name (a histogram's _bucket also `le`)."""
    allowed = {}
    for name, (kind, labels) in documented_metrics().items():
        if kind == "histogram":
            allowed[f"{name}_bucket"] = labels | {"le"}
            allowed[f"{name}_sum"] = allowed[f"{name}_count"] = set(labels)
        else:
            allowed[name] = set(labels)
    allowed |= RABBITMQ_PLUGIN | PROMETHEUS_OWN
    return {name: labels | TARGET_LABELS for name, labels in allowed.items()}


STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
GROUPING = r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names it matches on) of every series selector."""
    found = []
    for name, body in re.findall(rf"([a-zA-Z_:][\w:]*)?\s*\{{((?:{STRING}|[^}}])*)\}}", expr):
        matched = set(re.findall(rf"(\w+)\s*(?:=~|!~|!=|=)\s*(?:{STRING})", body))
        found.append((name, matched))
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or
    strings."""
    bare = re.sub(STRING, '""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = re.sub(GROUPING, " ", bare)
    names = set(re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", bare))
    return names - KEYWORDS


def grouping_labels(expr: str) -> set[str]:
    return {label.strip() for _, labels in re.findall(GROUPING, re.sub(STRING, '""', expr))
            for label in labels.split(",") if label.strip()}


@pytest.fixture(scope="module")
def boards() -> dict[str, dict]:
    return {path.name: load(path) for path in DASHBOARDS}


def provisioned_datasource_uids() -> set[str]:
    return {d["uid"] for d in yaml.safe_load(DATASOURCES.read_text())["datasources"] if d.get("uid")}


def test_the_two_dashboards_are_there(boards):
    assert set(boards) == {"city-overview.json", "operations.json"}
    assert len({b["uid"] for b in boards.values()}) == len({b["title"] for b in boards.values()}) == 2


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_a_dashboard_is_grafana_json_with_unique_panels_on_the_provisioned_datasource(path):
    board = load(path)
    assert board["schemaVersion"] >= 39 and board["uid"] and board["title"] and board["description"]
    everything = panels(board)
    ids = [p["id"] for p in everything]
    titles = [p["title"] for p in everything]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)

    uids = provisioned_datasource_uids()
    assert uids, f"{DATASOURCES} names no uid for the dashboards to refer to"
    cells = set()
    for panel in everything:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not covered & cells, f"{panel['title']!r} overlaps another panel"
        cells |= covered
        if panel["type"] == "row":
            continue
        assert panel["description"], panel["title"]
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert panel["targets"], panel["title"]
        for t in panel["targets"]:
            assert t["datasource"]["uid"] in uids and t["expr"].strip(), (panel["title"], t["refId"])
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] in uids, variable["name"]


def test_the_leaders_dashboard_speaks_vietnamese_and_the_operators_english(boards):
    vietnamese = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)
    for name, board in boards.items():
        titles = [board["title"]] + [p["title"] for p in panels(board)]
        if name == "city-overview.json":
            assert all(vietnamese.search(t) for t in titles), [t for t in titles if not vietnamese.search(t)]
        else:
            assert not [t for t in titles if vietnamese.search(t)]


def test_the_leaders_dashboard_says_satisfaction_is_not_measured_yet_and_shows_no_panel_for_it(boards):
    board = boards["city-overview.json"]
    assert "hài lòng" in board["description"]
    assert not [p["title"] for p in panels(board) if "hài lòng" in p["title"].lower()]


def test_the_decision_766_progress_figure_is_built_from_the_contract_and_explained(boards):
    [panel] = [p for p in panels(boards["city-overview.json"]) if p["title"].startswith("Tiến độ giải quyết (")]
    [expr] = [t["expr"] for t in panel["targets"]]
    assert metric_names(expr) == {"motcua_dossiers_completed_total", "motcua_dossiers_open",
                                  "motcua_dossiers_overdue"}
    assert 'timeliness="on_time"' in expr
    for word in ("Công thức", "đúng hạn", "quá hạn", "motcua_dossiers_open", "motcua_dossiers_overdue"):
        assert word in panel["description"], word


def test_gauges_read_from_the_database_are_never_summed_across_replicas(boards):
    """docs/metrics.md: every replica reports the same value; `max` first (by their own labels), then sum."""
    database_gauges = ("motcua_dossiers_open", "motcua_dossiers_overdue", "motcua_dossier_backlog_oldest_seconds")
    for name, board in boards.items():
        for where, expr in queries(board):
            if where.startswith("variable"):
                continue
            for gauge in database_gauges:
                for found in re.finditer(rf"\b{gauge}\b", expr):
                    before = expr[:found.start()]
                    assert re.search(r"max by \([\w, ]+\) \($", before), f"{name} {where}: {gauge} without max"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_reads_only_documented_metrics_and_their_labels(path):
    board = load(path)
    allowed = allowed_metrics()
    for where, expr in queries(board):
        names = metric_names(expr)
        assert names, f"{where}: no metric found in {expr}"
        unknown = names - set(allowed)
        assert not unknown, f"{path.name} {where}: {sorted(unknown)} not in docs/metrics.md nor the allow-list"
        for name, labels in selectors(expr):
            assert name, f"{where}: a selector without a metric name: {expr}"
            assert labels <= allowed[name], f"{path.name} {where}: {name} has no {sorted(labels - allowed[name])}"
        grouped = grouping_labels(expr) - set().union(*(allowed[n] for n in names))
        assert not grouped, f"{path.name} {where}: grouping by {sorted(grouped)}, which {sorted(names)} lack"


def test_the_metric_name_reader_finds_what_it_should():
    expr = ('histogram_quantile(0.95, sum by (service, le) (rate(a_bucket{x=~"y{1}|b"}[5m])))\n'
            "/ on (service) group_left () (max by (agency) (b) or vector(0)) + 1e3 * c offset 1h")
    assert metric_names(expr) == {"a_bucket", "b", "c"}
    assert selectors(expr) == [("a_bucket", {"x"})]
    assert grouping_labels(expr) == {"service", "le", "agency"}


def test_every_query_parses_as_promql(boards, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run scripts/test_prerequisites.py (installs Debian's prometheus)")
    rules, names = [], {}
    for name, board in boards.items():
        for i, (where, expr) in enumerate(queries(board)):
            record = f"dashboard:{Path(name).stem.replace('-', '_')}:query_{i}"
            names[record] = f"{name} {where}"
            rules.append({"record": record, "expr": substitute(expr, board)})
    assert len(rules) >= 30
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, allow_unicode=True))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    report = out.stdout + out.stderr
    for record, where in names.items():
        report = report.replace(f'"{record}"', f'"{record}" ({where})')
    assert out.returncode == 0, report
    assert f"SUCCESS: {len(rules)} rules found" in out.stdout, report


def test_the_variables_substitute_into_every_query(boards):
    for board in boards.values():
        for where, expr in queries(board):
            assert "$" not in substitute(expr, board), where


def test_compose_mounts_the_dashboards_where_the_provider_reads_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target, *mode = volume.split(":")
        assert mode == ["ro"], volume
        mounts[(ROOT / source).resolve()] = target
    assert mounts[(GRAFANA / "provisioning").resolve()] == "/etc/grafana/provisioning"
    [provider] = yaml.safe_load(PROVIDER.read_text())["providers"]
    assert provider["type"] == "file" and provider["folder"]
    assert mounts[(GRAFANA / "dashboards").resolve()] == provider["options"]["path"]
    # What Grafana finds in that folder: the dashboards and nothing else.
    assert sorted(p.name for p in (GRAFANA / "dashboards").iterdir()) == [p.name for p in DASHBOARDS]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed: cannot render")
@pytest.mark.parametrize("kustomization", ("deploy/k8s/base", "deploy/k8s/overlays/production"))
def test_kubernetes_has_a_configmap_per_dashboard_for_the_grafana_sidecar(kustomization):
    from tests.unit.test_deploy_k8s import render

    maps = [d for d in render(kustomization)
            if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    by_file = {}
    for config_map in maps:
        [(file_name, text)] = config_map["data"].items()
        assert config_map["metadata"]["name"] == f"motcua-dashboard-{Path(file_name).stem}"  # no hash suffix
        assert config_map["metadata"]["namespace"] == "motcua"
        by_file[file_name] = text
    assert set(by_file) == {p.name for p in DASHBOARDS}
    for path in DASHBOARDS:
        assert by_file[path.name] == path.read_text(encoding="utf-8"), path.name
