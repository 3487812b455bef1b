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
    targets = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    scraped = set(targets["static_configs"][0]["targets"])
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        port = environment.get(f"{name.upper()}_METRICS_PORT") or environment[f"{name.upper()}_HTTP_PORT"]
        assert f"{name}:{port}" in scraped
    gateway = compose["services"]["gateway"]  # its HTTP port is published; its metrics port is not
    assert f"gateway:{gateway['environment']['GATEWAY_HTTP_PORT']}" not in scraped
    assert [p for p in gateway["ports"] if p.split(":")[-1] == gateway["environment"]["GATEWAY_METRICS_PORT"]] == []


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
    scraped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    assert not [t for t in scraped["static_configs"][0]["targets"] if t.startswith("carrier-simulator")]


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
