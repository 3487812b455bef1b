"""docs/metrics.md is the contract the alert rules and dashboards are written against: the metric families the
services register are exactly its tables' rows, with the type and the labels it gives, and every label is
bounded (never a dossier code, a person or free text). Every service counts its entrypoints."""
import importlib
import re
from pathlib import Path

import pytest
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, REGISTRY

from motcua.dependencies import WorkerContext

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"catalog": "CatalogService", "intake": "IntakeService", "status": "StatusService",
            "notify": "NotifyService", "postal": "PostalService", "gateway": "GatewayService"}
# Bounded sets: names of services, entrypoints and queues; codes of agencies and procedures; the enums of
# channels, states, event types, templates, outcomes and refusal reasons.
ALLOWED_LABELS = {"service", "entrypoint", "outcome", "procedure", "agency", "channel", "timeliness", "event_type",
                  "state", "queue", "method", "template", "reason", "found", "item_type", "action"}
# What would name a dossier, a person or carry text, whatever the spelling.
UNBOUNDED = re.compile(r"dossier|code|name|person|applicant|citizen|official|phone|mail|address|subject|user|"
                       r"message|text|note|detail|description|url|path|key|id$", re.IGNORECASE)
PROMETHEUS_OWN = {GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR}


def documented() -> dict[str, tuple[str, frozenset[str]]]:
    """docs/metrics.md's tables: the first column's metric -> (type, labels)."""
    found = {}
    for line in (ROOT / "docs/metrics.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`\w+`", cells[0]):
            name = cells[0].strip("`")
            assert name not in found, f"{name} is listed twice"
            found[name] = (cells[1], frozenset(label.strip() for label in cells[2].split(",") if label.strip()))
    return found


def registered() -> dict[str, tuple[str, frozenset[str]]]:
    """Every family in the default registry once every service module is imported: a metric object's own
    labels, or those its custom collector describes (describe() answers without a database or a broker)."""
    for service, class_name in SERVICES.items():
        getattr(importlib.import_module(f"{service}.service"), class_name)
    found = {}
    for collector in list(REGISTRY._collector_to_names):
        if collector in PROMETHEUS_OWN:
            continue
        for family in collector.describe():
            labels = getattr(collector, "_labelnames", None)
            # prometheus-client drops a counter's _total from the family's name; the exposition and PromQL have it.
            name = f"{family.name}_total" if family.type == "counter" else family.name
            found[name] = (family.type, frozenset(family._labelnames if labels is None else labels))
    return found


def test_the_services_register_exactly_the_metrics_docs_metrics_md_lists_with_their_types_and_labels():
    docs, services = documented(), registered()
    assert sorted(set(services) - set(docs)) == [], "registered but not in docs/metrics.md"
    assert sorted(set(docs) - set(services)) == [], "in docs/metrics.md but registered by no service"
    # name -> (as documented, as registered): (type, labels)
    assert {name: (docs[name], services[name]) for name in services if docs[name] != services[name]} == {}


def test_every_metric_is_ours_and_every_label_is_bounded():
    services = registered()
    assert [name for name in services if not name.startswith("motcua_")] == []
    labels = {label for _, labelled in services.values() for label in labelled}
    assert labels <= ALLOWED_LABELS, labels - ALLOWED_LABELS
    assert [label for label in ALLOWED_LABELS if UNBOUNDED.search(label)] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_counts_its_entrypoints_with_one_worker_context(service):
    cls = getattr(importlib.import_module(f"{service}.service"), SERVICES[service])
    assert [name for name in dir(cls) if isinstance(getattr(cls, name), WorkerContext)] == ["context"]
