"""What bench/pipeline.py measures besides time, read before and after a phase: the CPU seconds of every
process that does the work (each service process, RabbitMQ's beam.smp, all of PostgreSQL's processes, the
bench's own), the messages of the run's vhost, the transactions of its databases and the RPCs its services
answered; and each process's memory, sampled all along.
"""
from __future__ import annotations

import importlib
import inspect
import os
import platform
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
import sqlalchemy as sa
from nameko.rpc import Rpc
from prometheus_client.parser import text_string_to_metric_families

from common import MANAGEMENT, MANAGEMENT_AUTH
from motcua.stack import POSTGRES_ADMIN_URL, PROGRAMS, LocalStack, service_of

# The vhost's counters (RabbitMQ management API, message_stats) a reading keeps.
MESSAGE_COUNTERS = ("publish", "confirm", "deliver_get", "ack", "redeliver")
MEMORY_SAMPLE_SECONDS = 0.5


def listener(port: int) -> psutil.Process:
    """The process listening on a local TCP port (the broker's, the database's postmaster)."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    raise RuntimeError(f"nothing this user can see listens on port {port}")


def tree_cpu_seconds(process: psutil.Process) -> float:
    """A process's CPU seconds with its descendants': the live ones, and the ended ones it reaped (which its
    children's times hold)."""
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue  # ended between the two calls: counted in its parent's children's times from now on
        total += times.user + times.system
    return total


class PostgresCpu:
    """The database server's CPU seconds by whom it worked for: the backends of the run's databases (with the
    parallel workers they start), the server's own processes (the postmaster, WAL, checkpoints, autovacuum), and
    other databases' backends: a machine's one server may serve others meanwhile. Counted per process from the
    process list; one that ended counts with the time it had when last seen (`update` often keeps that close)."""

    OURS, SERVER, OTHERS = "postgresql (the run's backends)", "postgresql (the server's own work)", "others"

    def __init__(self, postmaster: psutil.Process, databases: list[str]):
        self.postmaster, self.databases = postmaster, set(databases)
        # (pid, start time: pids are reused) -> (whom for, CPU seconds when last seen)
        self.seen: dict[tuple[int, float], tuple[str, float]] = {}
        self.ended = Counter()
        self.lock = threading.Lock()

    def whom(self, title: str, leaders: dict[int, str]) -> str:
        words = title.split(": ", 2)[-1].split()  # "postgres: 15/main: <user> <database> <client> <state>"
        if len(words) >= 3 and ("(" in words[2] or words[2] == "[local]"):
            return self.OURS if words[1] in self.databases else self.OTHERS
        if words[:3] == ["parallel", "worker", "for"]:
            return leaders.get(int(words[4]), self.OTHERS)  # "parallel worker for PID <leader>"
        return self.SERVER

    def update(self) -> dict[str, float]:
        """Each kind's CPU seconds so far (since the probe started for the processes that ended)."""
        live = {}
        for child in self.postmaster.children():
            try:
                live[child.pid, child.create_time()] = (" ".join(child.cmdline()), sum(child.cpu_times()[:2]))
            except psutil.NoSuchProcess:
                continue
        leaders = {pid: self.whom(title, {}) for (pid, _), (title, _) in live.items()
                   if not title.split(": ", 2)[-1].startswith("parallel worker")}
        with self.lock:
            for key in self.seen.keys() - live.keys():
                kind, seconds = self.seen.pop(key)
                self.ended[kind] += seconds
            self.seen.update({key: (leaders.get(key[0]) or self.whom(title, leaders), seconds)
                              for key, (title, seconds) in live.items()})
            totals = Counter(self.ended)
            for kind, seconds in self.seen.values():
                totals[kind] += seconds
        totals[self.SERVER] += sum(self.postmaster.cpu_times()[:2])
        return {kind: totals[kind] for kind in (self.OURS, self.SERVER, self.OTHERS)}


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything, this run's processes or not."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


def rpc_entrypoints(services) -> set[tuple[str, str]]:
    """(service, method) of every nameko RPC entrypoint of these services' classes."""
    found = set()
    for service in services:
        module = importlib.import_module(f"{service}.service")
        classes = [value for value in vars(module).values() if isinstance(value, type)
                   and value.__module__ == module.__name__ and getattr(value, "name", None) == service]
        for cls in classes:
            for name, method in inspect.getmembers(cls, callable):
                if any(isinstance(entrypoint, Rpc) for entrypoint in getattr(method, "nameko_entrypoints", ())):
                    found.add((service, name))
    return found


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic()
    cpu: dict[str, float]  # process (or group) name -> CPU seconds so far
    machine_busy: float
    messages: dict[str, int]
    transactions: dict[str, int]  # commits and rollbacks so far, over the run's databases
    rpcs: Counter  # "service.method" -> calls answered so far, every replica's
    # What the same broker and database server did for others so far: messages in other vhosts (the broker's CPU
    # above includes their cost), CPU seconds of other databases' backends (left out above).
    elsewhere: dict[str, float]


class Probe:
    """Reads the counters of a running stack; samples every process's memory in a thread of its own."""

    def __init__(self, stack: LocalStack, vhost: str, databases: list[str], bench: dict[str, int]):
        self.stack, self.vhost, self.databases = stack, vhost, databases
        self.processes = {name: psutil.Process(process.pid) for name, process in stack.processes.items()}
        self.processes.update({name: psutil.Process(pid) for name, pid in bench.items()})
        self.broker = listener(5672)
        self.other_vhosts: dict[str, int] = {}  # vhost -> messages published, when last seen
        self.other_vhosts_ended = 0
        self.postgres = PostgresCpu(listener(5432), databases)
        self.nameko = [name for name in stack.processes if service_of(name) not in PROGRAMS]
        self.rpc_methods = rpc_entrypoints({service_of(name) for name in self.nameko})
        self.admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.idle_rss: dict[str, int] = {}
        self.peak_rss: dict[str, int] = {}
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample_memory, daemon=True)
        self._sampler.start()

    def add(self, name: str, pid: int) -> None:
        """Follow one more process from now on (a reference's)."""
        self.processes[name] = psutil.Process(pid)

    def cpu_mark(self) -> tuple[float, dict[str, float], float]:
        """(time.monotonic(), each process's CPU seconds, the machine's busy seconds): for `core_percent`."""
        return time.monotonic(), self.cpu(), machine_busy_seconds()

    def read(self) -> Reading:
        messages = self.messages()
        elsewhere = {"messages": self.other_messages(),
                     "postgresql_cpu_seconds": round(self.postgres.update()[PostgresCpu.OTHERS], 2)}
        return Reading(time.monotonic(), self.cpu(), machine_busy_seconds(), messages, self.transactions(),
                       self.rpcs(), elsewhere)

    def cpu(self) -> dict[str, float]:
        """Each process's own CPU seconds (this one's children are the services: counted as themselves), the
        broker's, and the database server's for the run and for itself; what it did for other databases is the
        phase's other load (`Reading.elsewhere`)."""
        seconds = {}
        for name, process in self.processes.items():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue  # a reference's process, ended: it has nothing more to count
            seconds[name] = times.user + times.system
        seconds["rabbitmq (beam.smp)"] = tree_cpu_seconds(self.broker)
        postgres = self.postgres.update()
        seconds.update({kind: postgres[kind] for kind in (PostgresCpu.OURS, PostgresCpu.SERVER)})
        return seconds

    def messages(self) -> dict[str, int]:
        vhost = requests.get(f"{MANAGEMENT}/vhosts/{quote(self.vhost, safe='')}", auth=MANAGEMENT_AUTH,
                             timeout=10).json()
        stats = vhost.get("message_stats", {})
        return {counter: stats.get(counter, 0) for counter in MESSAGE_COUNTERS}

    def other_messages(self) -> int:
        """Messages published in the broker's other vhosts so far; a vhost deleted since the last call counts
        with what it had then."""
        vhosts = requests.get(f"{MANAGEMENT}/vhosts", auth=MANAGEMENT_AUTH, timeout=10).json()
        now = {vhost["name"]: vhost.get("message_stats", {}).get("publish", 0) for vhost in vhosts
               if vhost["name"] != self.vhost}
        for gone in self.other_vhosts.keys() - now.keys():
            self.other_vhosts_ended += self.other_vhosts.pop(gone)
        self.other_vhosts.update(now)
        return self.other_vhosts_ended + sum(now.values())

    def transactions(self) -> dict[str, int]:
        with self.admin.connect() as conn:
            commits, rollbacks = conn.execute(sa.text(
                "SELECT sum(xact_commit), sum(xact_rollback) FROM pg_stat_database WHERE datname = ANY(:names)"),
                {"names": self.databases}).one()
        return {"commits": int(commits), "rollbacks": int(rollbacks)}

    def rpcs(self) -> Counter:
        calls = Counter()
        for name in self.nameko:
            text = requests.get(self.stack.metrics_url(name), timeout=10).text
            for family in text_string_to_metric_families(text):
                if family.name != "motcua_entrypoint_calls":
                    continue
                for sample in family.samples:
                    key = (sample.labels["service"], sample.labels["entrypoint"])
                    if sample.name.endswith("_total") and key in self.rpc_methods:
                        calls[".".join(key)] += int(sample.value)
        return calls

    def mark_idle(self) -> None:
        """Take every process's memory now as its idle size."""
        self.idle_rss = self._rss()

    def _rss(self) -> dict[str, int]:
        sizes = {}
        for name, process in self.processes.items():
            try:
                sizes[name] = process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return sizes

    def _sample_memory(self) -> None:
        """Every process's peak memory; and the database server's process list, kept fresh (PostgresCpu)."""
        while not self._sampling.wait(MEMORY_SAMPLE_SECONDS):
            for name, size in self._rss().items():
                self.peak_rss[name] = max(size, self.peak_rss.get(name, 0))
            self.postgres.update()

    def close(self) -> None:
        self._sampling.set()
        self._sampler.join()
        self.admin.dispose()


def usage(before: Reading, after: Reading, units: int) -> dict:
    """What one unit (a dossier, a lookup) cost between two readings: CPU milliseconds per process, messages,
    transactions and RPCs; and the machine's CPU that no listed process accounts for (another load on it)."""
    cpu = {name: after.cpu[name] - before.cpu.get(name, 0.0) for name in after.cpu}
    busy = after.machine_busy - before.machine_busy
    rpcs = after.rpcs - before.rpcs
    return {
        "units": units, "seconds": round(after.at - before.at, 1),
        "cpu_ms": {name: round(seconds * 1000 / units, 2) for name, seconds in cpu.items()},
        "cpu_ms_accounted": round(sum(cpu.values()) * 1000 / units, 2),
        "cpu_ms_machine": round(busy * 1000 / units, 2),
        "cpu_seconds_not_accounted": round(busy - sum(cpu.values()), 1),
        "messages": {name: round((after.messages[name] - before.messages[name]) / units, 2)
                     for name in MESSAGE_COUNTERS},
        "transactions": {name: round((after.transactions[name] - before.transactions[name]) / units, 2)
                         for name in after.transactions},
        "rpcs": round(sum(rpcs.values()) / units, 3),
        "rpcs_by_method": {name: round(calls / units, 3) for name, calls in sorted(rpcs.items())},
        "shared_servers_elsewhere": {name: round(after.elsewhere[name] - before.elsewhere[name], 2)
                                     for name in after.elsewhere},
    }


def core_percent(opened: tuple, closed: tuple) -> dict:
    """Between two `Probe.cpu_mark`s: how busy the machine's cores were, and each process's share of one core."""
    seconds = closed[0] - opened[0]
    return {"machine_busy": round((closed[2] - opened[2]) / seconds / os.cpu_count(), 3),
            "of_one_core": {name: round((cpu - opened[1].get(name, 0.0)) / seconds * 100, 1)
                            for name, cpu in closed[1].items()}}


def git(*args: str) -> str:
    """What git says of this repository (the code measured)."""
    return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True).stdout.strip()


def machine_facts(probe: Probe) -> dict:
    with probe.admin.connect() as conn:
        postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
    broker = requests.get(f"{MANAGEMENT}/overview", auth=MANAGEMENT_AUTH, timeout=10).json()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain")),
            "cores": os.cpu_count(), "cpu_model": model, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "rabbitmq": broker["rabbitmq_version"], "erlang": broker["erlang_version"], "postgresql": postgres}
