"""Make sure what the test suite talks to is there: RabbitMQ (with its management API,
which nameko's test fixtures use for a vhost per test) and PostgreSQL; and what it runs
with: Debian's libfaketime and a C compiler, for the tests run again at another instant,
Debian's chromium, which the browser tests drive with Playwright, and Debian's prometheus, whose
promtool checks and unit-tests the alert rules and whose server the end-to-end tests run (the
package's own daemon is never left running). RabbitMQ's Prometheus plugin (port 15692) is enabled
too, as the deployments enable it.

Starts what is installed but not running; says clearly what is missing otherwise.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from at_instant import LIBFAKETIME  # this folder's; where Debian puts the library

AMQP = ("127.0.0.1", 5672)
MANAGEMENT = "http://127.0.0.1:15672/api/overview"
RABBITMQ_METRICS = "http://127.0.0.1:15692/metrics"
POSTGRES = ("127.0.0.1", 5432)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def port_open(address, timeout=1.0) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def enable_plugin(plugin: str, why: str, answers, failure: str) -> None:
    if answers():
        return
    print(f"enabling the RabbitMQ plugin {plugin} ({why}) ...")
    subprocess.run(["rabbitmq-plugins", "enable", plugin], check=False, stdout=subprocess.DEVNULL)
    if not wait_for(answers, 60):
        sys.exit(failure)


def management_up() -> bool:
    request = urllib.request.Request(MANAGEMENT)
    request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest, the local test broker only
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def prometheus_plugin_up() -> bool:
    try:
        with urllib.request.urlopen(RABBITMQ_METRICS, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_rabbitmq() -> None:
    if not port_open(AMQP):
        if not shutil.which("rabbitmq-server"):
            sys.exit("RabbitMQ is not listening on 127.0.0.1:5672 and rabbitmq-server is not installed "
                     "(apt-get install rabbitmq-server).")
        print("starting RabbitMQ ...")
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
        if not wait_for(lambda: port_open(AMQP), 60):
            sys.exit("RabbitMQ did not start within 60 s")
    enable_plugin("rabbitmq_management", "nameko's test fixtures use its API", management_up,
                  "the RabbitMQ management API did not answer on 127.0.0.1:15672")
    enable_plugin("rabbitmq_prometheus", "the deployments scrape it on port 15692", prometheus_plugin_up,
                  "RabbitMQ's Prometheus plugin did not answer on 127.0.0.1:15692/metrics")


def ensure_postgres() -> None:
    if port_open(POSTGRES):
        return
    clusters = shutil.which("pg_ctlcluster")
    if clusters:
        print("starting PostgreSQL ...")
        version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()
        if version:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version[0], "main", "start"], check=False)
    if not wait_for(lambda: port_open(POSTGRES), 30):
        sys.exit("PostgreSQL is not listening on 127.0.0.1:5432 (user postgres, trust auth expected)")


def ensure_faketime() -> None:
    if not glob.glob(LIBFAKETIME):
        if not (shutil.which("apt-get") and os.geteuid() == 0):
            sys.exit("libfaketime is missing: apt-get install faketime")
        print("installing Debian's faketime ...")
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "faketime"], check=True, stdout=subprocess.DEVNULL)
    if not shutil.which("cc"):
        sys.exit("a C compiler is missing (apt-get install gcc): scripts/at_instant.py builds a small shim")


def ensure_chromium() -> None:
    """Debian's chromium: Playwright drives it (executable_path), never a browser Playwright downloads."""
    if os.path.exists(CHROMIUM):
        return
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        sys.exit(f"chromium is missing at {CHROMIUM}: apt-get install chromium")
    print("installing Debian's chromium ...")
    subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, stdout=subprocess.DEVNULL)


POLICY_RC_D = "/usr/sbin/policy-rc.d"


def ensure_prometheus() -> None:
    """Debian's prometheus: promtool for the rule tests, the server for the end-to-end tests, which start
    their own on a free port. Installed with a policy-rc.d that forbids starting services, so the
    package's daemon does not start (and is stopped and disabled if it did, under systemd)."""
    if shutil.which("promtool") and shutil.which("prometheus"):
        return
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        sys.exit("promtool is missing: apt-get install --no-install-recommends prometheus "
                 "(and stop its daemon: the tests run their own)")
    print("installing Debian's prometheus (promtool and the server; its daemon is not started) ...")
    previous = None
    if os.path.exists(POLICY_RC_D):
        with open(POLICY_RC_D, "rb") as existing:
            previous = existing.read()
    try:
        with open(POLICY_RC_D, "w") as policy:
            policy.write("#!/bin/sh\n# scripts/test_prerequisites.py: start no service while installing\nexit 101\n")
        os.chmod(POLICY_RC_D, 0o755)
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    finally:
        if previous is None:
            os.remove(POLICY_RC_D)
        else:
            with open(POLICY_RC_D, "wb") as policy:
                policy.write(previous)
    if os.path.isdir("/run/systemd/system"):  # systemd ignores policy-rc.d: stop and disable it there
        subprocess.run(["systemctl", "disable", "--now", "prometheus.service"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not shutil.which("promtool"):
        sys.exit("the prometheus package was installed but promtool is not on the PATH")


if __name__ == "__main__":
    ensure_rabbitmq()
    ensure_postgres()
    ensure_faketime()
    ensure_chromium()
    ensure_prometheus()
    print("test prerequisites: RabbitMQ with its management API and Prometheus plugin, PostgreSQL, libfaketime, "
          "chromium and prometheus (promtool) are there")
