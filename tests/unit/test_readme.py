"""The README's shell examples run as printed: no placeholder, no date that goes stale, every command
and option exists, every API call is in the OpenAPI document, and every variable is set before it is used."""
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway import tokens
from gateway.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, flags=re.S | re.M)
SHELL = "\n".join(SHELL_BLOCKS)
# Dates that are facts of the example, true whatever the day it is run: a child's date of birth.
FIXED_DATES = ("child_date_of_birth",)


def commands() -> list[str]:
    """Each shell command on one line: continuations joined, heredoc bodies and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", SHELL)
    joined = re.sub(r"<<EOF.*?\nEOF\n", "\n", joined, flags=re.S)
    joined = re.sub(r"'(submission=\{.*?\})'", lambda found: "'" + " ".join(found[1].split()) + "'", joined,
                    flags=re.S)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


def python_modules() -> list[tuple[str, list[str]]]:
    """(module, its arguments) of every `python -m` the README names, in a shell example or in the text."""
    found = []
    for command in commands():
        for module, rest in re.findall(r"\.venv/bin/python -m ([\w.]+)([^)|]*)", command):
            found.append((module, shlex.split(rest)))
    for module, rest in re.findall(r"`(?:\.venv/bin/)?python -m ([\w.]+)([^`]*)`", README):
        found.append((module, shlex.split(rest)))
    return found


def test_there_are_shell_examples_to_check():
    assert len(SHELL_BLOCKS) >= 10 and len(python_modules()) >= 10


def test_no_placeholder_breaks_a_copy_and_paste():
    assert "..." not in SHELL
    assert re.findall(r"<[\w .-]+>", SHELL) == []  # <key>, <jti>, <pickup_id>...
    assert "path/to" not in SHELL


def test_every_literal_date_is_a_fact_that_stays_true():
    """Windows, expiries and report periods are computed when run (`date`); a fixed date only where it is a
    fact of the example (someone's date of birth)."""
    for found in re.finditer(r"\d{4}-\d{2}-\d{2}", SHELL):
        before = SHELL[:found.start()]
        assert before.rstrip('": ').endswith(FIXED_DATES), SHELL[found.start() - 60:found.end()]


def test_every_computed_date_is_vietnam_s():
    """The API counts days in Vietnam: on a machine in UTC, `date` alone is yesterday there until 07:00."""
    calls = re.findall(r"(?:TZ=\S+ )?date [-+]", "\n".join(commands()))
    assert calls and all(call.startswith("TZ=Asia/Ho_Chi_Minh ") for call in calls)


def test_each_command_runs_from_the_repository_s_virtual_environment():
    bare = [command for command in commands() if re.search(r"(?<!bin/)\bpython3? -m ", command)]
    assert bare == []


@pytest.mark.parametrize(("module", "arguments"), sorted({(m, tuple(a)) for m, a in python_modules()}),
                         ids=lambda value: value if isinstance(value, str) else " ".join(value)[:40])
def test_each_python_module_named_exists_and_takes_the_options_shown(module, arguments):
    subcommand = [arguments[0]] if arguments and not arguments[0].startswith("-") else []
    helped = subprocess.run([sys.executable, "-m", module, *subcommand, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    for option in (argument.split("=")[0] for argument in arguments if argument.startswith("--")):
        assert option in helped.stdout, (module, subcommand, option)


def curl_calls() -> list[tuple[str, str]]:
    """(method, URL) of every curl example."""
    calls = []
    for command in commands():
        for curl in re.split(r"(?=\bcurl )", command):
            if not curl.startswith("curl "):
                continue
            [url] = [next(filter(None, found)) for found in re.findall(
                r""""(http://localhost:8000[^"]*)"|'(http://localhost:8000[^']*)'|(http://localhost:8000[^\s"']*)""",
                curl)]
            explicit = re.search(r"-X (\w+)", curl)
            method = explicit[1] if explicit else "POST" if re.search(r" -(d|F) ", curl) else "GET"
            calls.append((method.lower(), url))
    return calls


def operation(document: dict, path: str) -> dict:
    """The document's path item for a concrete path: a `{name}` segment matches any one segment."""
    segments = path.split("/")
    for template, item in document["paths"].items():
        parts = template.split("/")
        if len(parts) == len(segments) and all(
                part == segment or (part.startswith("{") and part.endswith("}"))
                for part, segment in zip(parts, segments)):
            return item
    raise AssertionError(f"{path} is not in the OpenAPI document")


def test_every_curl_example_calls_an_operation_of_the_openapi_document_with_its_parameters():
    document = openapi_document()
    calls = curl_calls()
    assert len(calls) >= 10
    for method, url in calls:
        parts = urlsplit(url)
        item = operation(document, parts.path)
        assert method in item, (method, url)
        declared = {parameter["name"] for parameter in item[method].get("parameters", ()) if parameter["in"] == "query"}
        assert {name for name, _ in parse_qsl(parts.query)} <= declared, url


def test_every_variable_is_set_by_an_earlier_example():
    """Read in order, the examples set what they use; only the environment's HOME-like names are given."""
    assigned: set[str] = set()
    for block in SHELL_BLOCKS:
        for line in re.sub(r"\\\n", " ", block).splitlines():
            used = set(re.findall(r"\$\{?([A-Z][A-Z_]*)\b", line))
            assert used <= assigned, (line, used - assigned)
            assigned |= set(re.findall(r"(?:^|\s)(?:export )?([A-Z][A-Z_]*)=", line.strip()))


def test_tokens_are_issued_with_the_key_make_run_keeps():
    key = f"export JWT_SECRET=$(cat var/{tokens.LOCAL_SECRET_FILE})"
    assert key in SHELL
    assert SHELL.index(key) < SHELL.index("gateway.tokens issue")
