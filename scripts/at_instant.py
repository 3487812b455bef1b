"""Run a command as if it were another instant, for every process it starts: Debian's libfaketime.

    python scripts/at_instant.py "2027-02-05 23:30" -- python -m pytest tests/unit

The instant is Vietnam time (UTC+7). The clock is moved by one offset, so every process of the run
(the test process, the services an end-to-end test starts) agrees on the time and sees it pass;
monotonic clocks are left real, since timeouts wait on them. The broker and the database keep the
real time: nothing of ours asks them for it.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SHIM_SOURCE = Path(__file__).with_name("faketime") / "monotonic_sleep.c"


LIBFAKETIME = "/usr/lib/*/faketime/libfaketime.so.1"  # Debian's faketime package, any architecture


def libfaketime() -> str:
    found = sorted(glob.glob(LIBFAKETIME))
    if not found:
        sys.exit("libfaketime is not installed (apt-get install faketime)")
    return found[0]


def shim(build_dir: Path) -> Path:
    """The monotonic-sleep shim (see its source), compiled once per change of its source."""
    built = build_dir / "motcua-monotonic-sleep.so"
    if not built.exists() or built.stat().st_mtime < SHIM_SOURCE.stat().st_mtime:
        build_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(built), str(SHIM_SOURCE), "-ldl"], check=True)
    return built


def environment(instant: datetime, build_dir: Path) -> dict[str, str]:
    offset = round((instant - datetime.now(timezone.utc)).total_seconds())
    preload = " ".join(filter(None, (str(shim(build_dir)), libfaketime(), os.environ.get("LD_PRELOAD"))))
    return {**os.environ, "LD_PRELOAD": preload, "FAKETIME": f"{offset:+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instant", help="YYYY-MM-DD HH:MM, Vietnam time")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    instant = datetime.fromisoformat(args.instant).replace(tzinfo=VIETNAM)
    build_dir = Path(sys.prefix) / "lib" / "faketime"
    print(f"at {instant.isoformat()} (Vietnam time): {' '.join(command)}", flush=True)
    return subprocess.run(command, env=environment(instant, build_dir)).returncode


if __name__ == "__main__":
    sys.exit(main())
