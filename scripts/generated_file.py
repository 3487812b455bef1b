"""A file generated from others and committed: written, or with --check compared (CI fails on a stale one)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def write_or_check(argv: list[str] | None, description: str, target: Path, render, stale: str) -> int:
    """Writes `render()` to `target`; with --check, exit status 1 and `stale` on stderr when they differ."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if not args.check:
        target.write_text(text, encoding="utf-8")
        return 0
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        print(stale, file=sys.stderr)
        return 1
    return 0
