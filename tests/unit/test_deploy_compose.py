"""docker-compose.yml, checked offline: no Docker engine runs on these machines."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from gateway.oidc import OidcSettings

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("catalog", "intake", "status", "notify", "postal", "gateway")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def prometheus_config() -> dict:
    return yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())


def scraped_targets() -> set[str]:
    """Every `host:port` Prometheus scrapes in compose: static targets and the names it resolves by DNS."""
    found = set()
    for job in prometheus_config()["scrape_configs"]:
        for static in job.get("static_configs", []):
            found |= set(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            found |= {f"{name}:{dns['port']}" for name in dns["names"]}
    return found


def test_compose_file_follows_the_compose_specification(compose):
    schema = json.loads((ROOT / "tests/data/compose_spec.json").read_text())
    jsonschema.validate(compose, schema)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_service_builds_from_the_repository_with_environment_and_health_check(compose, name):
    service = compose["services"][name]
    build = service["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert build["args"]["SERVICE"] == name
    assert (ROOT / "services" / name / "pyproject.toml").is_file()
    assert service["healthcheck"]["test"][:3] == ["CMD", "python", "-m"]
    env = service["environment"]
    assert env["AMQP_URI"].startswith("amqp://") and "@rabbitmq:5672" in env["AMQP_URI"]
    assert env[f"{name.upper()}_HTTP_PORT"]
    assert set(service["depends_on"]) == {"postgres", "rabbitmq"}


@pytest.mark.parametrize("name", ("catalog", "intake", "status", "notify", "postal"))
def test_each_service_has_its_own_postgres_database(compose, name):
    url = compose["services"][name]["environment"][f"{name.upper()}_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg2://") and url.endswith(f"@postgres:5432/{name}")
    init = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    assert f"CREATE DATABASE {name};" in init


def test_infrastructure_is_there_with_the_plugins_and_health_checks(compose):
    services = compose["services"]
    assert "management" in services["rabbitmq"]["image"]
    plugins = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    for name in ("postgres", "rabbitmq"):
        assert services[name]["healthcheck"]["test"]
    scraped = scraped_targets()
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        port = environment.get(f"{name.upper()}_METRICS_PORT") or environment[f"{name.upper()}_HTTP_PORT"]
        assert f"{name}:{port}" in scraped
    gateway = compose["services"]["gateway"]  # its HTTP port is published; its metrics port is not
    assert f"gateway:{gateway['environment']['GATEWAY_HTTP_PORT']}" not in scraped
    assert [p for p in gateway["ports"] if p.split(":")[-1] == gateway["environment"]["GATEWAY_METRICS_PORT"]] == []


def test_prometheus_scrapes_every_replica_of_each_service_in_a_job_named_after_it(compose):
    """docs/metrics.md: each process is a target of its own. Compose's DNS answers a service's name with the
    address of every replica (`--scale`), so each service is found by an A lookup, not listed once; the job
    is the service's name, as the Kubernetes ServiceMonitors' jobs and the alert rules' `up{job=...}` have it."""
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        port = int(environment.get(f"{name.upper()}_METRICS_PORT") or environment[f"{name.upper()}_HTTP_PORT"])
        assert jobs[name]["dns_sd_configs"] == [{"names": [name], "type": "A", "port": port}], name
        assert "static_configs" not in jobs[name] and jobs[name].get("metrics_path", "/metrics") == "/metrics"
        # No target label may be called `service`: the metrics carry their own (it would become exported_service).
        assert not [r for r in jobs[name].get("relabel_configs", []) if r.get("target_label") == "service"]


def test_prometheus_scrapes_rabbitmqs_plugin_totals_and_each_queues_depth(compose):
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    assert jobs["rabbitmq"]["static_configs"] == [{"targets": ["rabbitmq:15692"]}]
    assert jobs["rabbitmq"].get("metrics_path", "/metrics") == "/metrics"
    detailed = jobs["rabbitmq-detailed"]
    assert detailed["static_configs"] == [{"targets": ["rabbitmq:15692"]}]
    assert detailed["metrics_path"] == "/metrics/detailed"
    assert detailed["params"] == {"family": ["queue_coarse_metrics", "queue_consumer_count"]}
    assert "rabbitmq" in compose["services"]


def test_prometheus_loads_the_alert_rules_mounted_beside_its_configuration(compose):
    """rule_files are relative to the configuration file: deploy/prometheus/rules/ here (promtool), the mounted
    /etc/prometheus/rules/ in the container; and the data is kept as long as the 30-day rules look back."""
    service = compose["services"]["prometheus"]
    mounts = {source: target for source, target, mode in (v.rsplit(":", 2) for v in service["volumes"])
              if mode == "ro"}
    config_in_container = Path(mounts["./deploy/prometheus/prometheus.yml"])
    rule_files = prometheus_config()["rule_files"]
    assert rule_files == ["rules/*.yml"]
    assert Path(mounts["./deploy/prometheus/rules"]) == config_in_container.parent / "rules"
    assert sorted((ROOT / "deploy/prometheus").glob(rule_files[0])) == [ROOT / "deploy/prometheus/rules/motcua.yml"]
    assert f"--config.file={config_in_container}" in service["command"]
    [retention] = [a for a in service["command"] if a.startswith("--storage.tsdb.retention.time=")]
    assert retention.endswith("d") and int(retention.split("=")[1][:-1]) > 30


def test_passwords_come_from_the_environment(compose):
    """A password is never a literal: each is `${VAR:-local default}`, overridden by .env."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "API_KEY")):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", value), (name, key)
            if "://" in str(value) and "@" in str(value):
                credentials = str(value).split("://", 1)[1].split("@", 1)[0]
                assert "${" in credentials, (name, key)


def test_postal_and_the_carrier_simulator_share_one_key_and_secret_from_env(compose):
    postal = compose["services"]["postal"]["environment"]
    simulator = compose["services"]["carrier-simulator"]
    env = simulator["environment"]
    assert env["CARRIER_SIMULATOR_API_KEY"] == postal["POSTAL_CARRIER_API_KEY"]
    assert env["CARRIER_SIMULATOR_CALLBACK_SECRET"] == postal["POSTAL_CARRIER_CALLBACK_SECRET"]
    for value in (postal["POSTAL_CARRIER_API_KEY"], postal["POSTAL_CARRIER_CALLBACK_SECRET"]):
        assert ":?" in value  # no default: compose refuses to start without it in .env, like JWT_SECRET
    # Postal reaches the simulator by its compose name; the simulator calls postal back by its own.
    host, port = env["CARRIER_SIMULATOR_HOST"], env["CARRIER_SIMULATOR_HTTP_PORT"]
    assert host == "0.0.0.0" and f"http://carrier-simulator:{port}" in postal["POSTAL_CARRIER_URL"]
    assert f"http://postal:{postal['POSTAL_HTTP_PORT']}/callbacks/carrier" in postal["POSTAL_CALLBACK_URL"]
    # The same image recipe, with the simulator installed and run instead of a nameko service.
    assert simulator["build"]["args"]["SERVICE"] == "carrier_simulator"
    assert (ROOT / "services/carrier_simulator/carrier_simulator/__main__.py").is_file()
    assert simulator["entrypoint"] == ["python", "-m", "carrier_simulator"]
    assert f"127.0.0.1:{port}/healthz" in " ".join(simulator["healthcheck"]["test"])
    assert not [t for t in scraped_targets() if t.startswith("carrier-simulator")]


def test_the_links_in_notices_point_at_the_gateways_published_address(compose):
    """notify's NOTIFY_PORTAL_URL is the address compose publishes the gateway's HTTP port on."""
    gateway = compose["services"]["gateway"]
    container_port = gateway["environment"]["GATEWAY_HTTP_PORT"]
    [published] = [p.split(":")[-2] for p in gateway["ports"] if p.split(":")[-1] == container_port]
    portal = compose["services"]["notify"]["environment"]["NOTIFY_PORTAL_URL"]
    assert portal == f"http://localhost:{published}"


def test_entrypoint_execs_the_service_so_it_receives_sigterm():
    script = (ROOT / "deploy/docker/entrypoint.sh").read_text()
    assert 'exec python -m motcua.serve "$SERVICE"' in script


def test_the_gateway_reads_officials_from_a_mounted_accounts_file_and_the_provider_from_env(compose):
    gateway = compose["services"]["gateway"]
    env = gateway["environment"]
    source, target, mode = gateway["volumes"][0].rsplit(":", 2)
    assert mode == "ro" and env["GATEWAY_OFFICIALS_FILE"].startswith(target + "/") and source.startswith("${")
    provider = {name: value for name, value in env.items() if name.startswith("GATEWAY_OIDC_")}
    assert provider and all(re.fullmatch(r"\$\{GATEWAY_OIDC_[A-Z_]+:-[^}]*\}", value) for value in provider.values())
    # Unset in .env, the provider is off: the defaults alone configure no sign-in through it.
    defaults = {name: value.split(":-", 1)[1].rstrip("}") for name, value in provider.items()}
    assert OidcSettings.from_config(lambda name: defaults.get(name)) is None
