"""deploy/k8s, checked offline: rendered with `kubectl kustomize`, no cluster needed.

Built-in kinds are validated with kubernetes-validate, custom resources against their
operators' CRD schemas (vendored in tests/data/crds, see tests/data/README.md), then the
behaviour the architecture asks for (section 9) is checked on the rendered objects.
"""
import copy
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from gateway.oidc import OidcSettings

ROOT = Path(__file__).resolve().parents[2]
CRDS = Path(__file__).resolve().parents[1] / "data/crds"
KUSTOMIZATIONS = ("deploy/k8s/base", "deploy/k8s/overlays/production")
PORTS = {"gateway": 8000, "catalog": 8001, "intake": 8002, "status": 8003, "notify": 8004, "postal": 8005}
WITH_DATABASE = ("catalog", "intake", "status", "notify", "postal")
ATTACHMENTS = "/var/lib/motcua/attachments"
K8S_VERSION = "1.30"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None,
                                reason="kubectl (with kustomize) is not installed: cannot render")


@lru_cache
def render(path: str) -> tuple:
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def of_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _strict(schema):
    """Refuse unknown fields, as `kubectl apply` (field validation Strict) does; the API server
    would otherwise prune a misspelt field silently."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(v) for v in schema]
    return schema


def _python_patterns(schema):
    """Go's regular expressions allow a flag group after `^` (the PrometheusRule CRD's `^(?i)(abort|warn)?$`);
    Python's want global flags first: the same pattern, its flags moved to the front."""
    if isinstance(schema, dict):
        schema = {k: _python_patterns(v) for k, v in schema.items()}
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and (flags := re.match(r"\^(\(\?[a-z]+\))", pattern)):
            schema["pattern"] = flags.group(1) + "^" + pattern[flags.end():]
    elif isinstance(schema, list):
        schema = [_python_patterns(v) for v in schema]
    return schema


@lru_cache
def crd_schemas() -> dict:
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            schema["properties"]["metadata"] = {"type": "object"}
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = _strict(_python_patterns(schema))
    return schemas


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_object_validates_against_its_schema(path):
    import kubernetes_validate

    docs = render(path)
    assert docs
    errors = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        schema = crd_schemas().get((doc["apiVersion"], doc["kind"]))
        try:
            if schema is not None:
                jsonschema.validate(doc, schema)
            else:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except jsonschema.ValidationError as exc:
            errors.append(f"{where} at {'/'.join(map(str, exc.absolute_path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{where}: {exc.message} (and no CRD in {CRDS})")
        if doc["kind"] != "Namespace" and doc["metadata"].get("namespace") != "motcua":
            errors.append(f"{where}: not in the motcua namespace")
    assert not errors, f"{path}:\n" + "\n".join(errors)


def test_the_operators_custom_resources_are_present():
    docs = render("deploy/k8s/base")
    rabbit = of_kind(docs, "RabbitmqCluster")["rabbitmq"]["spec"]
    assert rabbit["replicas"] == 3 and rabbit["persistence"]["storage"]
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(rabbit["rabbitmq"]["additionalPlugins"])
    postgres = of_kind(docs, "Cluster")["postgres"]["spec"]
    assert postgres["instances"] == 3 and postgres["storage"]["size"]
    initdb = postgres["bootstrap"]["initdb"]
    created = {initdb["database"]} | {sql.split()[2] for sql in initdb["postInitSQL"]
                                      if sql.upper().startswith("CREATE DATABASE")}
    assert created == set(WITH_DATABASE)
    monitors = of_kind(docs, "ServiceMonitor")
    [selector] = monitors["motcua"]["spec"]["selector"]["matchExpressions"]
    assert selector["key"] == "app.kubernetes.io/name" and set(selector["values"]) == set(PORTS) - {"gateway"}
    assert monitors["motcua"]["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s",
                                                        "honorLabels": True}]
    # The gateway's http port is public (the Ingress): its metrics are scraped on a port of their own.
    gateway = monitors["motcua-gateway"]["spec"]
    assert gateway["selector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    assert gateway["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "honorLabels": True}]


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
@pytest.mark.parametrize("name", PORTS)
def test_each_service_runs_safely_with_probes_scaling_and_its_port(path, name):
    docs = render(path)
    deployment = of_kind(docs, "Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    [container] = pod["containers"]
    assert container["image"].split("/")[-1].startswith(f"{name}:")
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"

    port, *metrics = container["ports"]
    assert port == {"name": "http", "containerPort": PORTS[name], "protocol": "TCP"}
    assert metrics == ([{"name": "metrics", "containerPort": 8100, "protocol": "TCP"}] if name == "gateway" else [])
    env = {e["name"]: e for e in container["env"]}
    assert env["SERVICE"]["value"] == name
    assert env[f"{name.upper()}_HTTP_PORT"]["value"] == str(PORTS[name])
    for probe, path_ in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                         ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path_, "port": "http"}, probe
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])

    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    volumes = {v["name"]: v for v in pod["volumes"]}
    for pod_container in pod["containers"] + pod.get("initContainers", []):
        sc = pod_container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, pod_container["name"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert pod_container["resources"]["limits"], pod_container["name"]
        tmp = [m for m in pod_container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and "emptyDir" in volumes[tmp[0]["name"]], pod_container["name"]

    service = of_kind(docs, "Service")[name]["spec"]
    assert service["type"] == "ClusterIP" and service["selector"].items() <= labels.items()
    service_port, *metrics_port = service["ports"]
    assert service_port["name"] == "http"
    assert [p["name"] for p in metrics_port] == (["metrics"] if name == "gateway" else [])
    assert service_port["targetPort"] in (port["containerPort"], port["name"])
    assert service_port["targetPort"] == port["containerPort"]

    hpa = of_kind(docs, "HorizontalPodAutoscaler")[name]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    [metric] = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}

    pdb = of_kind(docs, "PodDisruptionBudget")[name]["spec"]
    assert pdb["minAvailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("name", PORTS)
def test_secrets_are_referenced_by_name_and_migrations_run_first(name):
    pod = of_kind(render("deploy/k8s/base"), "Deployment")[name]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    refs |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
    assert {"configMapRef": {"name": "motcua-config"}} in container["envFrom"]
    expected = {"motcua-rabbitmq"} | ({"motcua-database"} if name in WITH_DATABASE else set())
    expected |= {"gateway": {"motcua-auth"}, "notify": {"motcua-notify"}, "postal": {"motcua-postal"}}.get(name, set())
    assert refs == expected
    assert env["AMQP_URI"]["valueFrom"]["secretKeyRef"]["key"] == "AMQP_URI"
    init = [c["command"] for c in pod.get("initContainers", [])]
    if name in WITH_DATABASE:
        assert env[f"{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "motcua-database", "key": f"{name.upper()}_DATABASE_URL"}
        assert init[0] == ["python", "-m", "motcua.migrations", name]
        assert all(c["image"] == container["image"] for c in pod["initContainers"])
    else:
        assert init == [] and not any(k.endswith("_DATABASE_URL") for k in env)
    if name == "catalog":
        assert init[1] == ["python", "-m", "catalog.cli", "import",
                           "/app/services/catalog/catalog/seed/haiphong.yaml"]


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_no_secret_values_in_the_rendered_output(path):
    docs = render(path)
    assert not [d["metadata"]["name"] for d in docs
                if d["kind"] == "Secret" and (d.get("data") or d.get("stringData"))]
    config = of_kind(docs, "ConfigMap")["motcua-config"]["data"]
    assert config["MOTCUA_QUEUE_TYPE"] == "quorum"
    secret_like = ("PASSWORD", "SECRET", "API_KEY", "PRIVATE_KEY", "DATABASE_URL", "AMQP_URI")
    assert not [k for k in config if any(w in k for w in secret_like)]
    for deployment in of_kind(docs, "Deployment").values():
        for env_var in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if env_var["name"].endswith(("DATABASE_URL", "AMQP_URI", "SECRET", "PASSWORD", "_KEY")):
                assert "value" not in env_var, env_var["name"]


def test_intake_and_status_share_the_attachments_volume():
    docs = render("deploy/k8s/base")
    pvc = of_kind(docs, "PersistentVolumeClaim")["motcua-attachments"]["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"]
    for name, deployment in of_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
                  for v in pod["volumes"] if "persistentVolumeClaim" in v}
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        if name in ("intake", "status"):
            assert claims == {"attachments": "motcua-attachments"}
            assert mounts["attachments"] == ATTACHMENTS
            assert env[f"{name.upper()}_ATTACHMENTS_DIR"] == ATTACHMENTS
        else:
            assert claims == {}, name


def test_the_gateway_and_the_signed_callbacks_alone_are_exposed_over_tls():
    docs = render("deploy/k8s/base")
    [ingress] = of_kind(docs, "Ingress").values()
    [tls] = ingress["spec"]["tls"]
    assert tls == {"hosts": ["motcua.example.org"], "secretName": "motcua-tls"}
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "motcua.example.org"
    routes = {(r["path"], r["pathType"]): r["backend"]["service"] for r in rule["http"]["paths"]}
    assert routes == {
        ("/", "Prefix"): {"name": "gateway", "port": {"name": "http"}},
        # Exact: the carrier reaches postal's callback and nothing else of postal (not /metrics).
        ("/callbacks/carrier", "Exact"): {"name": "postal", "port": {"name": "http"}},
        ("/callbacks/sms-delivery", "Exact"): {"name": "notify", "port": {"name": "http"}},
    }
    config = of_kind(docs, "ConfigMap")["motcua-config"]["data"]
    assert config["POSTAL_CALLBACK_URL"] == "https://motcua.example.org/callbacks/carrier"


def test_the_links_in_notices_point_at_the_ingress_host_over_tls():
    for path in KUSTOMIZATIONS:
        docs = render(path)
        [ingress] = of_kind(docs, "Ingress").values()
        [rule], [tls] = ingress["spec"]["rules"], ingress["spec"]["tls"]
        assert rule["host"] in tls["hosts"]
        config = of_kind(docs, "ConfigMap")["motcua-config"]["data"]
        assert config["NOTIFY_PORTAL_URL"] == f"https://{rule['host']}", path
        notify = of_kind(docs, "Deployment")["notify"]["spec"]["template"]["spec"]["containers"][0]
        assert {"configMapRef": {"name": "motcua-config"}} in notify["envFrom"]
        assert "NOTIFY_PORTAL_URL" not in {e["name"] for e in notify.get("env", [])}  # nothing overrides it


def test_no_carrier_simulator_in_kubernetes():
    for path in KUSTOMIZATIONS:
        names = {d["metadata"]["name"] for d in render(path)}
        assert not [n for n in names if "simulator" in n], path


def test_production_overlay_pins_images_and_raises_the_floor():
    base, prod = render("deploy/k8s/base"), render("deploy/k8s/overlays/production")
    for name in PORTS:
        assert of_kind(base, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0][
            "image"] == f"motcua/{name}:latest"
        pod = of_kind(prod, "Deployment")[name]["spec"]["template"]["spec"]
        images = {c["image"] for c in pod["containers"] + pod.get("initContainers", [])}
        assert images == {f"registry.example.org/motcua/{name}:1.0.0"}
    hpas = of_kind(prod, "HorizontalPodAutoscaler")
    assert hpas["gateway"]["spec"]["minReplicas"] == hpas["intake"]["spec"]["minReplicas"] == 3


def test_officials_sign_in_through_the_provider_at_the_ingress_host_or_with_an_optional_accounts_secret():
    docs = render("deploy/k8s/base")
    config = of_kind(docs, "ConfigMap")["motcua-config"]["data"]
    settings = OidcSettings.from_config(config.get)  # valid as the gateway reads it: https, a client, a redirect
    [ingress] = of_kind(docs, "Ingress").values()
    [rule] = ingress["spec"]["rules"]
    assert settings.redirect_url == f"https://{rule['host']}/can-bo/dang-nhap/oidc/ve"
    pod = of_kind(docs, "Deployment")["gateway"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["officials"]["secret"] | {"defaultMode": None} == {
        "secretName": "motcua-officials", "optional": True, "defaultMode": None}
    assert volumes["officials"]["secret"]["defaultMode"] & 0o007 == 0  # no one outside the pod's group reads it
    assert mounts["officials"]["readOnly"] and env["GATEWAY_OFFICIALS_FILE"].startswith(
        mounts["officials"]["mountPath"] + "/")


def test_rabbitmqs_own_metrics_are_scraped_on_every_node_with_each_queues_depth():
    """The operator's Service `rabbitmq` (its labels, its port `prometheus`): node totals, and per-queue depth
    from /metrics/detailed in a job of its own, named as compose's deploy/prometheus/prometheus.yml names it."""
    docs = render("deploy/k8s/base")
    rabbit = of_kind(docs, "RabbitmqCluster")["rabbitmq"]
    monitor = of_kind(docs, "ServiceMonitor")["rabbitmq"]["spec"]
    # The RabbitMQ Cluster Operator labels the Services it makes for a cluster with its name.
    assert monitor["selector"] == {"matchLabels": {"app.kubernetes.io/name": rabbit["metadata"]["name"],
                                                   "app.kubernetes.io/component": "rabbitmq"}}
    totals, detailed = monitor["endpoints"]
    assert totals == {"port": "prometheus", "path": "/metrics", "interval": "30s"}
    assert detailed["port"] == "prometheus" and detailed["path"] == "/metrics/detailed"
    assert detailed["params"] == {"family": ["queue_coarse_metrics", "queue_consumer_count"]}
    assert detailed["relabelings"] == [{"targetLabel": "job", "replacement": "rabbitmq-detailed"}]
    compose_jobs = {job["job_name"]: job for job in
                    yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]}
    assert compose_jobs["rabbitmq-detailed"]["params"] == detailed["params"]


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_the_alert_rules_are_a_prometheus_rule_the_operator_selects(path):
    """The same groups as compose's rule file (tests/unit/test_prometheus_rules.py checks them in detail)."""
    [rule] = of_kind(render(path), "PrometheusRule").values()
    assert rule["metadata"]["labels"].items() >= {"prometheus": "k8s", "role": "alert-rules"}.items()
    compose_groups = yaml.safe_load((ROOT / "deploy/prometheus/rules/motcua.yml").read_text())["groups"]
    assert rule["spec"]["groups"] == compose_groups

