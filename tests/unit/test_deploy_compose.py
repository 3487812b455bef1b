"""docker-compose.yml, checked offline: no Docker engine runs on these machines."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("catalog", "intake", "status", "notify", "gateway")


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


@pytest.mark.parametrize("name", ("catalog", "intake", "status", "notify"))
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
        port = compose["services"][name]["environment"][f"{name.upper()}_HTTP_PORT"]
        assert f"{name}:{port}" in scraped


def test_passwords_come_from_the_environment(compose):
    """A password is never a literal: each is `${VAR:-local default}`, overridden by .env."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "API_KEY")):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", value), (name, key)
            if "://" in str(value) and "@" in str(value):
                credentials = str(value).split("://", 1)[1].split("@", 1)[0]
                assert "${" in credentials, (name, key)


def test_entrypoint_execs_the_service_so_it_receives_sigterm():
    script = (ROOT / "deploy/docker/entrypoint.sh").read_text()
    assert 'exec python -m motcua.serve "$SERVICE"' in script
