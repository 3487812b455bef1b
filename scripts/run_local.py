"""`make run`: the whole system on this machine, with SQLite files under var/.

Finds RabbitMQ on localhost (or starts it when rabbitmq-server is installed), migrates
each service's database, loads the seeded catalogue, starts every service as its own
process (and the carrier simulator in place of the post office), prints the portal
address, and stops everything on Ctrl-C.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from motcua.config import http_port, metrics_port, var_dir
from motcua.stack import START_ORDER, LocalStack, amqp_reachable

# The simulated post office moves every order one step this often, so a newcomer sees a pickup
# collected and handed over, and a result delivered, within a few minutes.
CARRIER_STEP_SECONDS = "20"


def ensure_rabbitmq() -> None:
    if amqp_reachable():
        return
    if not shutil.which("rabbitmq-server"):
        sys.exit(
            "RabbitMQ is not running on localhost:5672.\n"
            "Install it (Debian/Ubuntu: sudo apt-get install rabbitmq-server) or start one, e.g.\n"
            "  docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management\n"
            "or point AMQP_URI at a broker you have, then run `make run` again."
        )
    print("starting RabbitMQ (rabbitmq-server -detached) ...")
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    for _ in range(60):
        if amqp_reachable():
            return
        time.sleep(1)
    sys.exit("RabbitMQ did not start within 60 s; see its log under /var/log/rabbitmq/")


def local_signing_secret(root: Path) -> str:
    """The officials' token key for this machine only: made once under var/, never in the repository."""
    path = root / "local-jwt-secret"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# One official per role for the local run: the commune of the seeded catalogue, and the city.
LOCAL_OFFICIALS = (("tiepnhan.vinhbao", "Một cửa UBND xã Vĩnh Bảo", "000.00.51.H24", "receptionist"),
                   ("xuly.vinhbao", "Cán bộ xử lý UBND xã Vĩnh Bảo", "000.00.51.H24", "handler"),
                   ("pheduyet.vinhbao", "Lãnh đạo UBND xã Vĩnh Bảo", "000.00.51.H24", "approver"),
                   ("quantri.thanhpho", "Quản trị thành phố", "000.00.00.H24", "city_admin"))


def local_officials(root: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """The built-in sign-in's officials for this machine: made once under var/ with random passwords (kept beside
    it, readable by this user only); (the accounts file, [(username, password, role)])."""
    from gateway.accounts import hash_password

    # The folder docker compose mounts too: the same officials sign in there.
    accounts, passwords = root / "officials" / "officials.json", root / "officials-passwords.json"
    if not accounts.exists():
        accounts.parent.mkdir(parents=True, exist_ok=True)
        chosen = {username: secrets.token_urlsafe(9) for username, *_ in LOCAL_OFFICIALS}
        passwords.write_text(json.dumps(chosen))
        passwords.chmod(0o600)
        accounts.write_text(json.dumps({"officials": [
            {"username": username, "name": name, "agency_code": agency, "roles": [role],
             "password_hash": hash_password(chosen[username])} for username, name, agency, role in LOCAL_OFFICIALS]},
            ensure_ascii=False))
    chosen = json.loads(passwords.read_text())
    return accounts, [(username, chosen[username], role) for username, _, _, role in LOCAL_OFFICIALS]


def start_mail_sink(root: Path) -> subprocess.Popen | None:
    """Without a mail server configured, catch notify's e-mails in var/log/mail.log."""
    if os.environ.get("NOTIFY_SMTP_HOST"):
        return None
    (root / "log").mkdir(parents=True, exist_ok=True)
    log = open(root / "log" / "mail.log", "ab")
    port = os.environ.get("NOTIFY_SMTP_PORT", "1025")  # notify's default server: this sink
    return subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Debugging",
                             "-l", f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def main() -> None:
    if not os.environ.get("AMQP_URI"):
        ensure_rabbitmq()
    root = var_dir()
    ports = {service: http_port(service) for service in START_ORDER}
    env = {"MOTCUA_VAR_DIR": str(root), "GATEWAY_METRICS_PORT": str(metrics_port("gateway")),
           "CARRIER_SIMULATOR_STEP_SECONDS": os.environ.get("CARRIER_SIMULATOR_STEP_SECONDS", CARRIER_STEP_SECONDS)}
    if not os.environ.get("JWT_SECRET") and not os.environ.get("JWT_PUBLIC_KEY"):
        env["JWT_SECRET"] = local_signing_secret(root)
    officials: list[tuple[str, str, str]] = []
    if not os.environ.get("GATEWAY_OFFICIALS_FILE"):
        accounts, officials = local_officials(root)
        env["GATEWAY_OFFICIALS_FILE"] = str(accounts)
    stack = LocalStack(env, ports, root / "log")
    stop_requested = False

    def request_stop(*_):
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    mail_sink = start_mail_sink(root)
    try:
        print(f"databases and attachments under {root}; logs under {root / 'log'}")
        stack.migrate()
        stack.seed()
        stack.start(START_ORDER)
        print(f"\nMot Cua is running. Portal: http://localhost:{ports['gateway']}/  "
              f"API: http://localhost:{ports['gateway']}/api/v1/procedures  Ctrl-C stops everything.")
        print(f"Prometheus metrics: {stack.metrics_url('gateway')} (the gateway's), "
              f"http://localhost:<port>/metrics for the others.")
        if mail_sink is not None:
            print(f"E-mails to citizens are caught in {root / 'log' / 'mail.log'}.")
        print(f"The post office is simulated at {stack.url('carrier_simulator')}: it moves every pickup and delivery "
              f"one step every {env['CARRIER_SIMULATOR_STEP_SECONDS']} s. To move one now:\n"
              f"  curl -X POST -H 'Authorization: Bearer {stack.carrier_api_key}' "
              f"{stack.url('carrier_simulator')}/v1/orders/<waybill>/advance\n")
        if officials:
            print(f"Officials sign in at http://localhost:{ports['gateway']}/can-bo/dang-nhap as:")
            for username, password, role in officials:
                print(f"  {username:<18} {password:<14} ({role})")
            print()
        if "JWT_SECRET" in env:
            print("An official's token for the desk API (here: the receptionist of UBND xã Vĩnh Bảo):\n"
                  f"  JWT_SECRET=$(cat {root / 'local-jwt-secret'}) .venv/bin/python -m gateway.tokens issue "
                  "--subject le-tan-01 --agency 000.00.51.H24 --role receptionist\n")
        while not stop_requested:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited ({process.returncode}); see {Path(root / 'log' / name)}.log; stopping")
                    stop_requested = True
            time.sleep(0.5)
    finally:
        print("stopping ...")
        stack.stop()
        if mail_sink is not None:
            mail_sink.terminate()
            mail_sink.wait(10)


if __name__ == "__main__":
    main()
