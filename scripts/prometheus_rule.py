"""Write the Kubernetes PrometheusRule from the compose stack's rule file, so both carry the same groups.

    python scripts/prometheus_rule.py           write deploy/k8s/base/prometheusrule.yaml
    python scripts/prometheus_rule.py --check   exit 1 if it differs from deploy/prometheus/rules/motcua.yml

deploy/prometheus/rules/motcua.yml is the one place the recording and alert rules are written (and
unit-tested with `promtool test rules deploy/prometheus/tests/*.yml`); the Prometheus operator reads
them from a `monitoring.coreos.com/v1` PrometheusRule, which this script makes of the same groups.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy/prometheus/rules/motcua.yml"
PROMETHEUS_RULE = ROOT / "deploy/k8s/base/prometheusrule.yaml"

HEADER = """\
# Written by scripts/prometheus_rule.py from deploy/prometheus/rules/motcua.yml: edit that file and run
# `python scripts/prometheus_rule.py` (tests/unit/test_prometheus_rules.py checks they agree).
# The Prometheus resource's ruleSelector must match these labels: kube-prometheus selects
# `prometheus: k8s, role: alert-rules`; kube-prometheus-stack selects `release: <stack>`, which an overlay
# adds, as for the ServiceMonitors.
"""


class _Dumper(yaml.SafeDumper):
    """Strings in the rule file's styles: multi-line PromQL as literal blocks, long annotations folded."""


def _string(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else ">" if len(value) > 100 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def prometheus_rule(groups: list[dict]) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "motcua", "labels": {"prometheus": "k8s", "role": "alert-rules"}},
        "spec": {"groups": groups},
    }


def render() -> str:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    body = yaml.dump(prometheus_rule(groups), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__.splitlines()[0], PROMETHEUS_RULE, render,
                          f"{PROMETHEUS_RULE.relative_to(ROOT)} differs from {RULES.relative_to(ROOT)}: "
                          "run `python scripts/prometheus_rule.py`")

if __name__ == "__main__":
    sys.exit(main())
