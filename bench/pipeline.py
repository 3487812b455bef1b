"""The whole pipeline under load (issue 15): how many dossiers a second go from the citizen's HTTP submission to
the notice of their result, how fast, at what cost, and how that compares with what nameko and the broker alone
do on the same machine.

    .venv/bin/python bench/pipeline.py                                  # 60 s phases, one process a service
    .venv/bin/python bench/pipeline.py --seconds 10                     # a quick run
    .venv/bin/python bench/pipeline.py --replicas intake=2,status=2,gateway=2
    .venv/bin/python bench/pipeline.py --profile var/profile            # py-spy flame graphs of the saturate phase

Needs RabbitMQ with its management API, PostgreSQL (user postgres, trust) and Debian's wrk (apt-get install -y
wrk). Everything runs in a vhost and fresh databases of its own, removed at the end, on Ctrl-C or an error too.

Each dossier takes the full path: an online submission with a PDF for each mandatory document (procedure
1.001193, filed at the commune 000.00.51.H24) through the gateway; status registers it and puts a work item on
the commune's department queue; the commune's system (bench/department_system.py: plain pika, its own user)
accepts it and transfers it to the Department of Justice, whose system completes it; notify tells the citizen
when the dossier is filed, when it is accepted and when the result is ready, by SMS and by e-mail
(bench/sinks.py: a local SMTP server and SMS gateway).

Phases (the first three --seconds long each):
- saturate: a closed loop keeps --concurrency dossiers in flight (a new one is filed when one is through: its
  result notice arrived by SMS and by e-mail); the rate is the dossiers through per second over the window after
  a short ramp; the cost of a dossier (CPU of every process, messages, RPCs, transactions) is the whole phase's,
  drained, divided by its dossiers;
- half load: an open loop at half that rate; latency percentiles from each dossier's due time to its public
  view (GET with its tracking key answers 200; polled every 50 ms), its work item on the department's queue,
  its completion and its result notice;
- lookups: wrk GETs the public view of every dossier filed, in turn;
- audit: every dossier's public view once more: completed, each step once in its history; with the arrivals
  above, every stage is counted: each dossier must reach each exactly once;
- references, with the same tools: wrk against a trivial nameko HTTP endpoint (bench/trivial_http.py), and
  plain pika (bench/broker_reference.py) at the size of the work items on the bus.

The bench's own processes (the citizens' threads, the departments' systems, the sinks, wrk) are measured like
the rest, so it shows when the load generator, not the system, is what is busy. --profile attaches
`py-spy record` to every service process for the saturate phase (py-spy is in requirements-dev.txt).

Prints a table and writes everything, with the machine's facts, to --json.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import requests  # noqa: E402

from common import amqp_uri, latency_summary, new_vhost, start_stack  # noqa: E402
from load import VIEW_POLL_SECONDS, Gateways, ViewWatcher, closed_loop, open_loop, wrk  # noqa: E402
from motcua.departments import Management  # noqa: E402
from motcua.samples import sample_submission  # noqa: E402
from motcua.stack import PROGRAMS, START_ORDER, WITH_DATABASE, LocalStack, free_port  # noqa: E402
from resources import Probe, Reading, core_percent, machine_facts, usage  # noqa: E402

BENCH = Path(__file__).resolve().parent
PROCEDURE = "1.001193"  # birth registration, filed at the commune
RECEIVING, DECIDING = "000.00.51.H24", "000.00.01.H24"  # UBND xã Vĩnh Bảo, Sở Tư pháp
# What the services run with here, beside the stack's defaults (OUTBOX_POLL_SECONDS and the rest stay).
STACK_SETTINGS = {
    "LOG_LEVEL": "WARNING",
    "LOOKUP_RATE_PER_MINUTE": "100000000",  # the whole load comes from one address
    # notify sends what a handler queued right after its commit; its timer's pass (1 s by default) takes what a
    # full send pool left behind, and retries: 0.2 s bounds that wait at a low cost when idle.
    "NOTIFY_SEND_INTERVAL_SECONDS": "0.2",
    "NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00",  # no quiet hours: SMS are not held at night
    "NOTIFY_SMS_API_KEY": "bench",
}
WARM_UP_SECONDS = 5
RAMP_SECONDS = 5  # the closed loop fills the pipeline before the window opens
DRAIN_SECONDS = 180  # the longest a phase's last dossiers may take to get through
# After a phase, before reading the counters: RabbitMQ's management statistics are collected every 5 s, and a
# PostgreSQL backend reports its transactions at most once a second, an idle one 10 s later.
SETTLE_SECONDS = 11
SUBMITTERS = 16  # HTTP threads filing dossiers (the closed loop's in-flight count is --concurrency)
WATCHERS = 8  # HTTP threads polling the public view in the half-load phase, and reading it in the audit

# Each dossier must reach each of these once: its filing, the department's work items and its commands' outcomes,
# the citizen's notices, and the steps its public history shows at the end.
EXPECTED = (
    "submitted",
    "work:dossier_registered", "work:dossier_received", "work:dossier_transferred",
    "outcome:accept", "outcome:transfer", "outcome:complete",
    "notice:filed_online:sms", "notice:filed_online:email", "notice:receipt:sms", "notice:receipt:email",
    "notice:result_ready:sms", "notice:result_ready:email",
    "history:register", "history:accept", "history:transfer", "history:complete",
)
THROUGH = ("notice:result_ready:sms", "notice:result_ready:email")
VIEW = "view"  # first seen in the public view: polled in the half-load phase only, for its latency
LATENCY_STAGES = (  # (label, stage) measured from when the dossier was due, in the half-load phase
    ("submit answered (201)", "submitted"),
    ("public view (200)", VIEW),
    ("work item on the department queue", "work:dossier_registered"),
    ("completed (department's outcome)", "outcome:complete"),
    ("result notice (SMS and e-mail)", "through"),
)


@dataclass
class Dossier:
    phase: str | None = None  # None: seen on the bus or in a sink, never filed by this run
    tracking_key: str = ""
    sent: float = 0.0  # time.monotonic() it was sent, or due in the open loop
    arrivals: dict[str, list[float]] = field(default_factory=dict)

    def first(self, stage: str) -> float | None:
        if stage == "through":
            notices = [self.first(s) for s in THROUGH]
            return None if None in notices else max(notices)
        times = self.arrivals.get(stage)
        return times[0] if times else None


class Ledger:
    """Every dossier the run filed, and every stage it was seen at: when first, and how many times. Lines come
    from the bench's helper programs, whose clocks (time.monotonic()) are this machine's one clock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.dossiers: dict[str, Dossier] = {}
        self.failed = Counter()  # phase -> submissions not answered 201 (or not at all)
        self.work_item_bytes: list[int] = []
        self.on_through: Callable[[str], None] = lambda code: None

    def _dossier(self, code: str) -> Dossier:
        return self.dossiers.setdefault(code, Dossier())

    def filed(self, phase: str, code: str, tracking_key: str, sent: float, answered: float) -> None:
        with self.lock:
            dossier = self._dossier(code)
            dossier.phase, dossier.tracking_key, dossier.sent = phase, tracking_key, sent
            dossier.arrivals.setdefault("submitted", []).append(answered)

    def not_filed(self, phase: str) -> None:
        with self.lock:
            self.failed[phase] += 1

    def arrived(self, stage: str, code: str, at: float) -> None:
        with self.lock:
            dossier = self._dossier(code)
            times = dossier.arrivals.setdefault(stage, [])
            times.append(at)
            through = stage in THROUGH and len(times) == 1 and all(s in dossier.arrivals for s in THROUGH)
        if through:
            self.on_through(code)

    def take_line(self, line: str) -> None:
        """A helper program's line (bench/sinks.py, bench/department_system.py)."""
        kind, *words = line.split()
        if kind == "notice":
            template, channel, code, at = words
            self.arrived(f"notice:{template}:{channel}", code, float(at))
        elif kind == "work":
            item_type, code, at, size = words
            self.work_item_bytes.append(int(size))
            self.arrived(f"work:{item_type}", code, float(at))
        elif kind == "outcome":
            action, outcome, code, at = words
            self.arrived(f"{'outcome' if outcome == 'accepted' else 'rejected'}:{action}", code, float(at))

    def of(self, phase: str) -> list[Dossier]:
        with self.lock:
            return [dossier for dossier in self.dossiers.values() if dossier.phase == phase]

    def filed_dossiers(self) -> dict[str, Dossier]:
        with self.lock:
            return {code: dossier for code, dossier in self.dossiers.items() if dossier.phase is not None}

    def drain(self, phase: str) -> bool:
        """Wait until every dossier of `phase` is through; False if some are not within DRAIN_SECONDS."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            if all(dossier.first("through") is not None for dossier in self.of(phase)):
                return True
            time.sleep(0.2)
        return False

    def exactly_once(self) -> dict:
        """Per stage: the dossiers that reached it once, never, or more than once; what else was seen."""
        with self.lock:
            filed = [dossier for dossier in self.dossiers.values() if dossier.phase is not None]
            stages = {}
            for stage in EXPECTED:
                counts = Counter(min(len(dossier.arrivals.get(stage, ())), 2) for dossier in filed)
                stages[stage] = {"once": counts[1], "missing": counts[0], "more_than_once": counts[2]}
            unexpected = Counter()  # arrivals at any other stage: a rejected command, another notice...
            for dossier in filed:
                for stage, times in dossier.arrivals.items():
                    if stage not in EXPECTED and stage != VIEW:
                        unexpected[stage] += len(times)
            strays = {code: sorted(dossier.arrivals) for code, dossier in self.dossiers.items()
                      if dossier.phase is None}
            failed = dict(self.failed)
        return {"dossiers": len(filed), "failed_submissions": failed, "stages": stages,
                "unexpected": dict(unexpected), "never_filed": strays,
                "all_exactly_once": all(s["once"] == len(filed) for s in stages.values())
                and not unexpected and not strays and not failed}


class Child:
    """One of the bench's helper programs in a process of its own (bench/sinks.py, bench/department_system.py):
    its first line says it is ready, every line after it goes to `take_line`; stopped with SIGTERM."""

    def __init__(self, cleanup: ExitStack, args: list[str], take_line: Callable[[str], None],
                 env: dict[str, str] | None = None):
        self.process = subprocess.Popen([sys.executable, str(BENCH / args[0]), *args[1:]], stdout=subprocess.PIPE,
                                        text=True, env={**os.environ, **(env or {})}, start_new_session=True)
        cleanup.callback(self.stop)
        self.ready = self.process.stdout.readline().split()
        if self.ready[:1] != ["ready"]:
            raise RuntimeError(f"bench/{args[0]} did not start (exit code {self.process.wait()})")
        threading.Thread(target=self._read, args=(take_line,), daemon=True).start()

    def _read(self, take_line: Callable[[str], None]) -> None:
        for line in self.process.stdout:
            take_line(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_departments(cleanup: ExitStack, vhost: str, ledger: Ledger) -> Child:
    """Both agencies' queues and users (as `python -m motcua.departments add` makes them), and their systems."""
    management = Management(vhost=vhost)
    uris = {}
    for role, agency in (("RECEIVING", RECEIVING), ("DECIDING", DECIDING)):
        user, password = f"bench-department-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
        management.add_department(agency, user, password)
        cleanup.callback(management.remove_department, agency, user, False)
        uris[f"BENCH_{role}_AMQP_URI"] = amqp_uri(vhost, user, password)
    return Child(cleanup, ["department_system.py", RECEIVING, DECIDING], ledger.take_line, uris)


def settled_reading(probe: Probe) -> Reading:
    """The counters once the broker's and the database's statistics caught up with a drained phase."""
    time.sleep(SETTLE_SECONDS)
    return probe.read()


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def start_profilers(cleanup: ExitStack, stack: LocalStack, directory: Path, seconds: float, kind: str) -> list:
    """`py-spy record` on every service process for `seconds`: a flame graph (SVG), a speedscope file or the
    collapsed stacks (raw: one line a stack, for grep and flamegraph.pl) each."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = {"flamegraph": "svg", "speedscope": "speedscope.json", "raw": "txt"}[kind]
    profilers = []
    for name, process in stack.processes.items():
        profiler = subprocess.Popen(
            [py_spy(), "record", "--pid", str(process.pid), "--duration", str(int(seconds)), "--nonblocking",
             "--format", kind, "--output", str(directory / f"{name}.{suffix}")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        cleanup.callback(lambda p=profiler: p.poll() is None and p.kill())
        profilers.append(profiler)
    return profilers


def keep_in_flight(phase: str, dossiers: int, until: float, ledger: Ledger, gateways: Gateways,
                   submission: bytes) -> None:
    """The closed loop of `phase` until `until`: a dossier filed whenever one is through."""
    in_flight = threading.Semaphore(dossiers)
    ledger.on_through = lambda code: in_flight.release()
    closed_loop(gateways, submission, in_flight, min(dossiers, SUBMITTERS), until,
                lambda *filed: ledger.filed(phase, *filed), lambda: ledger.not_filed(phase))
    ledger.on_through = lambda code: None


def saturate(args, ledger: Ledger, gateways: Gateways, submission: bytes, probe: Probe, stack: LocalStack,
             cleanup: ExitStack) -> dict:
    before = probe.read()
    start = time.monotonic()
    window = (start + RAMP_SECONDS, start + RAMP_SECONDS + args.seconds)
    profilers = (start_profilers(cleanup, stack, args.profile, RAMP_SECONDS + args.seconds, args.profile_format)
                 if args.profile else [])
    opened = []
    threading.Timer(RAMP_SECONDS, lambda: opened.append(probe.cpu_mark())).start()
    keep_in_flight("saturate", args.concurrency, window[1], ledger, gateways, submission)
    in_window = core_percent(opened[0], probe.cpu_mark())
    drained = ledger.drain("saturate")
    for profiler in profilers:
        profiler.wait(60)
    after = settled_reading(probe)
    dossiers = ledger.of("saturate")
    through = sum(1 for d in dossiers if (at := d.first("through")) is not None and window[0] <= at < window[1])
    cost = usage(before, after, len(dossiers))
    return {"concurrency": args.concurrency, "window_seconds": args.seconds, "dossiers": len(dossiers),
            "through_in_window": through, "dossiers_per_second": round(through / args.seconds, 1),
            "cpu_in_window": in_window, "drained": drained, "per_dossier": cost,
            "profiles": str(args.profile) if args.profile else None}


def half_load(args, rate: float, ledger: Ledger, gateways: Gateways, submission: bytes, probe: Probe) -> dict:
    watcher = ViewWatcher(gateways, lambda code, at: ledger.arrived(VIEW, code, at), WATCHERS)

    def filed(code: str, tracking_key: str, due: float, answered: float) -> None:
        ledger.filed("half load", code, tracking_key, due, answered)
        watcher.watch(code, tracking_key)

    before = probe.read()
    open_loop(gateways, submission, rate, args.seconds, SUBMITTERS, filed, lambda: ledger.not_filed("half load"))
    drained = ledger.drain("half load")
    watcher.stop()
    after = settled_reading(probe)
    dossiers = ledger.of("half load")
    latencies = {}
    for label, stage in LATENCY_STAGES:
        waited = [(at - d.sent) * 1000 for d in dossiers if (at := d.first(stage)) is not None]
        latencies[label] = {**latency_summary(waited), "count": len(waited)} if waited else None
    return {"rate_per_second": round(rate, 1), "seconds": args.seconds, "dossiers": len(dossiers),
            "drained": drained, "view_poll_ms": VIEW_POLL_SECONDS * 1000, "latency_ms": latencies,
            "per_dossier": usage(before, after, len(dossiers))}


def audit(ledger: Ledger, gateways: Gateways) -> None:
    """Read every dossier's public view once more: its state, and the steps its history shows."""
    def look(item: tuple[str, Dossier]) -> None:
        code, dossier = item
        status, view = gateways.view(code, dossier.tracking_key)
        now = time.monotonic()
        if status != 200:
            ledger.arrived(f"audit:http_{status}", code, now)
            return
        if view["state"] != "completed":
            ledger.arrived(f"audit:state_{view['state']}", code, now)
        for entry in view["history"]:
            ledger.arrived(f"history:{entry['action']}", code, now)

    with ThreadPoolExecutor(WATCHERS) as pool:
        list(pool.map(look, ledger.filed_dossiers().items()))


def lookups(args, urls: list[str], threads: int, dossiers: list[tuple[str, str]], probe: Probe,
            workdir: Path) -> dict:
    before = probe.read()
    result = wrk(urls, dossiers, args.seconds, threads, args.lookup_connections, workdir)
    after = probe.read()
    cost = usage(before, after, result["requests"])
    return {**result, "per_lookup": {name: cost[name] for name in (
        "cpu_ms", "cpu_ms_accounted", "rpcs", "cpu_seconds_not_accounted", "shared_servers_elsewhere")}}


def trivial_endpoint(cleanup: ExitStack, workdir: Path) -> tuple[str, subprocess.Popen]:
    """bench/trivial_http.py under `nameko run` on a free port: its URL once it answers."""
    port = free_port()
    config = workdir / "trivial.yaml"
    config.write_text(f"WEB_SERVER_ADDRESS: 127.0.0.1:{port}\n")
    with open(workdir / "trivial.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "nameko", "run", "trivial_http", "--config", str(config)],
                                   cwd=BENCH, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cleanup.callback(lambda: process.poll() is None and (process.terminate(), process.wait()))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/api/v1/dossiers/ready", timeout=1).status_code == 200:
                return url, process
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the trivial endpoint did not start; see {workdir / 'trivial.log'}")


def broker_reference(vhost: str, size: int) -> dict:
    finished = subprocess.run([sys.executable, str(BENCH / "broker_reference.py"), amqp_uri(vhost), "--bytes",
                               str(size)], capture_output=True, text=True, check=True)
    return json.loads(finished.stdout)


def service_logs(log_dir: Path) -> dict:
    """What each process logged (at LOG_LEVEL WARNING: its warnings and errors), by level, with the first few
    distinct messages."""
    found = {}
    for path in sorted(log_dir.glob("*.log")):
        levels, messages = Counter(), []
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not a log record: what Python printed before logging was set up
            if isinstance(record, dict) and "level" in record:
                levels[record["level"]] += 1
                if record.get("message") not in messages and len(messages) < 5:
                    messages.append(record.get("message"))
        if levels:
            found[path.stem] = {**levels, "first_messages": messages}
    return found


def say(text: str) -> None:
    """Progress, on standard error: standard output has the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_replicas(text: str) -> dict[str, int]:
    replicas = {}
    for part in filter(None, text.split(",")):
        service, _, count = part.partition("=")
        if service not in START_ORDER or service in PROGRAMS or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: want <service>=<count> with a service of "
                                             f"{', '.join(s for s in START_ORDER if s not in PROGRAMS)}")
        replicas[service] = int(count)
    return replicas


def parse_setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: want NAME=VALUE")
    return name, value


def run(args) -> dict:
    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-pipeline-")))
        ledger = Ledger()
        sinks = Child(cleanup, ["sinks.py"], ledger.take_line)
        smtp_port, sms_port = sinks.ready[1:3]
        vhost = new_vhost(cleanup)
        settings = {**STACK_SETTINGS, "AMQP_URI": amqp_uri(vhost), "NOTIFY_SMTP_HOST": "127.0.0.1",
                    "NOTIFY_SMTP_PORT": smtp_port, "NOTIFY_SMS_URL": f"http://127.0.0.1:{sms_port}/sms",
                    **dict(args.env)}
        stack = start_stack(cleanup, True, settings, args.replicas)
        departments = start_departments(cleanup, vhost, ledger)
        probe = Probe(stack, vhost, [stack.env[f"{s.upper()}_DATABASE_URL"].rsplit("/", 1)[1] for s in WITH_DATABASE],
                      {"bench: load generator": os.getpid(), "bench: department systems": departments.process.pid,
                       "bench: SMS and mail sinks": sinks.process.pid})
        cleanup.callback(probe.close)
        gateway_urls = [stack.url(name) for name in stack.instances("gateway")]
        gateways = Gateways(gateway_urls)
        status, definition = gateways.request("GET", f"/api/v1/procedures/{PROCEDURE}")
        if status != 200:
            raise RuntimeError(f"procedure {PROCEDURE}: HTTP {status} from the gateway")
        submission = json.dumps(sample_submission(json.loads(definition))).encode()

        say(f"warming up for {WARM_UP_SECONDS} s")
        keep_in_flight("warm-up", 8, time.monotonic() + WARM_UP_SECONDS, ledger, gateways, submission)
        ledger.drain("warm-up")
        time.sleep(SETTLE_SECONDS)
        probe.mark_idle()

        say(f"saturate: {args.concurrency} dossiers in flight for {RAMP_SECONDS} + {args.seconds} s")
        result = {"saturate": saturate(args, ledger, gateways, submission, probe, stack, cleanup)}
        rate = result["saturate"]["dossiers_per_second"] / 2
        if rate <= 0:
            raise RuntimeError(f"no dossier got through in the saturate phase; the services logged: "
                               f"{json.dumps(service_logs(stack.log_dir), ensure_ascii=False)}")
        say(f"half load: {rate:.1f} dossiers/s for {args.seconds} s")
        result["half_load"] = half_load(args, rate, ledger, gateways, submission, probe)
        say("audit: every dossier's public view")
        audit(ledger, gateways)
        filed = [(code, dossier.tracking_key) for code, dossier in ledger.filed_dossiers().items()]
        wrk_threads = max(2, len(gateway_urls))
        say(f"lookups: wrk over {len(filed)} dossiers for {args.seconds} s")
        result["lookups"] = lookups(args, gateway_urls, wrk_threads, filed, probe, workdir)
        say("references: a trivial nameko endpoint, plain pika")
        trivial_url, trivial = trivial_endpoint(cleanup, workdir)
        probe.add("reference: trivial nameko endpoint", trivial.pid)
        result["references"] = {"trivial_endpoint": lookups(args, [trivial_url], wrk_threads, filed, probe, workdir)}
        message_bytes = int(statistics.median(ledger.work_item_bytes))
        result["references"]["broker"] = broker_reference(vhost, message_bytes)
        result["exactly_once"] = ledger.exactly_once()
        result["service_logs"] = service_logs(stack.log_dir)
        result["memory_mb"] = {name: {"idle": round(probe.idle_rss.get(name, 0) / 2**20, 1),
                                      "peak": round(probe.peak_rss.get(name, 0) / 2**20, 1)}
                               for name in probe.processes}
        result["machine"] = machine_facts(probe)
        result["settings"] = {
            "seconds": args.seconds, "concurrency": args.concurrency, "lookup_connections": args.lookup_connections,
            "replicas": {s: stack.replicas[s] for s in START_ORDER if s not in PROGRAMS},
            "stack": {**settings, "AMQP_URI": "(the run's vhost)"}}
        result["ratios"] = ratios(result, message_bytes)
        return result


def ratios(result: dict, message_bytes: int) -> dict:
    """Each headline against its reference on the same machine, by the same tools."""
    per_dossier = result["saturate"]["per_dossier"]["messages"]
    broker_rate = result["saturate"]["dossiers_per_second"] * per_dossier["publish"]
    references = result["references"]
    return {
        "lookups_vs_trivial_endpoint": round(result["lookups"]["requests_per_second"]
                                             / references["trivial_endpoint"]["requests_per_second"], 3),
        "pipeline_messages_per_second": round(broker_rate, 1),
        "pipeline_messages_vs_raw_broker": round(broker_rate / references["broker"]["through_per_second"], 3),
        "message_bytes": message_bytes,
    }


def print_other_load(cost: dict) -> None:
    """Say so when the machine's RabbitMQ or PostgreSQL worked for someone else during a phase."""
    elsewhere = cost["shared_servers_elsewhere"]
    if elsewhere["messages"] > 0 or elsewhere["postgresql_cpu_seconds"] >= 0.5:
        print(f"  ! meanwhile the machine's RabbitMQ and PostgreSQL also worked for others "
              f"({elsewhere['messages']:.0f} messages in other vhosts, {elsewhere['postgresql_cpu_seconds']:.1f} "
              f"CPU s for other databases): the figures above suffer from it; measure again on a quiet machine")


def print_table(result: dict) -> None:
    machine, settings, ratio = result["machine"], result["settings"], result["ratios"]
    saturated, half, found = result["saturate"], result["half_load"], result["lookups"]
    trivial, broker = result["references"]["trivial_endpoint"], result["references"]["broker"]
    print(f"\nMot Cua pipeline at {machine['commit']}{' with changes' if machine['uncommitted_changes'] else ''}, "
          f"{machine['date']}: {machine['cores']} cores {machine['cpu_model']}, Python {machine['python']}, "
          f"RabbitMQ {machine['rabbitmq']}, PostgreSQL {machine['postgresql']}")
    print(f"replicas: {', '.join(f'{s} {n}' for s, n in settings['replicas'].items())}; "
          f"phases of {settings['seconds']:.0f} s")

    in_window = saturated["cpu_in_window"]
    print(f"\nsaturate, {saturated['concurrency']} dossiers in flight: {saturated['dossiers_per_second']:.1f} "
          f"dossiers/s through ({saturated['through_in_window']} in the window; the machine's CPU "
          f"{in_window['machine_busy']:.0%} busy)")
    print(f"  the broker carried {ratio['pipeline_messages_per_second']:.0f} msg/s = "
          f"{ratio['pipeline_messages_vs_raw_broker']:.3f} x plain pika's {broker['through_per_second']:.0f} msg/s "
          f"({ratio['message_bytes']} B messages, confirmed and acked)")
    print_other_load(saturated["per_dossier"])

    print(f"\nhalf load, {half['rate_per_second']} dossiers/s open loop ({half['dossiers']} dossiers)"
          f"{'ms from submit':>18} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    for label, summary in half["latency_ms"].items():
        cells = " ".join(f"{summary[p]:7.0f}" for p in ("p50", "p95", "p99", "max")) if summary else "   none"
        print(f"  {label:68} {cells}")
    print_other_load(half["per_dossier"])

    errors = found["http_errors"] + found["socket_errors"] + found["timeouts"]
    print(f"\nlookups, wrk {found['threads']} threads {found['connections']} connections: "
          f"{found['requests_per_second']:.0f}/s, p99 {found['latency_ms']['p99']:.0f} ms, {errors} errors = "
          f"{ratio['lookups_vs_trivial_endpoint']:.3f} x a trivial nameko endpoint "
          f"({trivial['requests_per_second']:.0f}/s, p99 {trivial['latency_ms']['p99']:.0f} ms)")
    spent = sorted(((ms, name) for name, ms in found["per_lookup"]["cpu_ms"].items()
                    if ms >= 0.05 and not name.startswith("bench: ")), reverse=True)
    print(f"  CPU ms a lookup: {found['per_lookup']['cpu_ms_accounted']:.2f} "
          f"({', '.join(f'{name} {ms:.2f}' for ms, name in spent)}); the trivial endpoint's: "
          f"{trivial['per_lookup']['cpu_ms']['reference: trivial nameko endpoint']:.2f}")
    print_other_load(found["per_lookup"])
    print_other_load(trivial["per_lookup"])

    cost = saturated["per_dossier"]
    print(f"\nsaturate: a dossier's cost, drained; % of a core in the window {'CPU ms':>8} {'core %':>7} "
          f"{'RSS idle':>9} {'RSS peak':>9}")
    for name, ms in cost["cpu_ms"].items():
        memory = result["memory_mb"].get(name)
        sizes = f"{memory['idle']:6.0f} MB {memory['peak']:6.0f} MB" if memory else ""
        print(f"  {name:62} {ms:8.1f} {in_window['of_one_core'].get(name, 0):7.0f} {sizes}")
    print(f"  {'all of the above (the machine: ' + format(cost['cpu_ms_machine'], '.1f') + ')':62} "
          f"{cost['cpu_ms_accounted']:8.1f} {sum(in_window['of_one_core'].values()):7.0f}   "
          f"({cost['cpu_seconds_not_accounted']:.0f} CPU s of the phase: the kernel's, or other processes')")
    messages, transactions = cost["messages"], cost["transactions"]
    rpcs = ", ".join(f"{method} {calls}" for method, calls in cost["rpcs_by_method"].items())
    print(f"  {messages['publish']:.1f} messages published, {messages['deliver_get']:.1f} delivered; "
          f"{cost['rpcs']:.2f} RPCs ({rpcs}); {transactions['commits']:.1f} transactions committed, "
          f"{transactions['rollbacks']:.1f} rolled back")
    shares = ", ".join(f"{name.removeprefix('bench: ')} {share:.0f}%"
                       for name, share in in_window["of_one_core"].items() if name.startswith("bench: "))
    print(f"  the bench's own CPU, of one core: {shares} (saturate); wrk "
          f"{found['load_generator_cpu_seconds'] / found['seconds']:.0%} (lookups)")
    logged = Counter()
    for counts in result["service_logs"].values():
        logged.update({level: n for level, n in counts.items() if level != "first_messages"})
    print(f"  the services logged {logged['ERROR']} errors and {logged['WARNING']} warnings (the first ones: JSON)")

    view = half["latency_ms"]["public view (200)"]
    met = saturated["dossiers_per_second"] >= 200 and view is not None and view["p99"] <= 1000
    print(f"\nissue 15's target, >= 200 dossiers/s and p99 to the public view <= 1 s at half of that: "
          f"{'met' if met else 'not met'}")

    checked = result["exactly_once"]
    print(f"\nexactly once, {checked['dossiers']} dossiers: "
          f"{'every stage, every dossier' if checked['all_exactly_once'] else 'NOT every stage, every dossier'}")
    print(f"  {'stage':30} {'once':>6} {'missing':>8} {'more':>6}")
    for stage, counts in checked["stages"].items():
        print(f"  {stage:30} {counts['once']:6} {counts['missing']:8} {counts['more_than_once']:6}")
    for what, seen in (("submissions not answered 201", checked["failed_submissions"]),
                       ("other stages seen", checked["unexpected"]),
                       ("dossiers seen but never filed", len(checked["never_filed"]))):
        if seen:
            print(f"  {what}: {seen}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase (default 60)")
    parser.add_argument("--concurrency", type=int, default=64, help="dossiers in flight when saturating (64)")
    parser.add_argument("--replicas", type=parse_replicas, default={}, metavar="SERVICE=N,...",
                        help="processes of a service, e.g. intake=2,status=2 (gateway replicas are taken in turn)")
    parser.add_argument("--lookup-connections", type=int, default=32, help="wrk's connections (32)")
    parser.add_argument("--env", type=parse_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the services, over the bench's (repeatable)")
    parser.add_argument("--json", type=Path, default=BENCH / "results" / "pipeline-latest.json",
                        help="where the full results go (bench/results/pipeline-latest.json)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy every service process during the saturate phase, one file each in DIR")
    parser.add_argument("--profile-format", choices=("flamegraph", "speedscope", "raw"), default="flamegraph")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("the lookups are driven by Debian's wrk: apt-get install -y wrk")
    if args.profile and py_spy() is None:
        parser.error("--profile needs py-spy: .venv/bin/pip install -r requirements-dev.txt")
    # SIGINT (also when started in the background, where it comes ignored) and SIGTERM stop the run as Ctrl-C
    # does: everything it started is stopped and removed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_table(result)
    print(f"\nfull results: {args.json}")


if __name__ == "__main__":
    main()
