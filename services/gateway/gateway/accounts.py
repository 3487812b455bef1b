"""Officials' accounts for the built-in sign-in: a file the city's operators keep, passwords as Argon2id hashes.

`GATEWAY_OFFICIALS_FILE` (JSON) lists the officials:
    {"officials": [{"username": "tiepnhan.vinhbao", "name": "Nguyễn Thị Lan", "agency_code": "000.00.51.H24",
                    "roles": ["receptionist"], "password_hash": "$argon2id$..."}]}
`python -m gateway.accounts add FILE USERNAME --name NAME --agency CODE --role ROLE...` adds an official to the file
(or replaces the one of that username), the password read on standard input; `python -m gateway.accounts hash`
only prints a password's hash.
The file is read once at start-up; no file configured, or none at the configured path (an optional Kubernetes
Secret not created), no built-in sign-in (bearer tokens and the identity provider keep working).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import AGENCY_CODE
from motcua_contracts.desk import ROLES

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so an unknown name takes as long as a wrong password.
_NOBODY = _HASHER.hash("no official has this password")
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class SignedInOfficial:
    """An official as the desk's session starts from, whether signed in here or through the identity provider."""
    username: str
    name: str
    agency_code: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Official(SignedInOfficial):
    password_hash: str


class AccountBook:
    def __init__(self, officials: list[Official]):
        self._by_username = {official.username: official for official in officials}

    @classmethod
    def from_file(cls, path: str | Path) -> AccountBook:
        listed = json.loads(Path(path).read_text(encoding="utf-8"))["officials"]
        officials = [Official(entry["username"], entry["name"], entry["agency_code"], tuple(entry["roles"]),
                              entry["password_hash"]) for entry in listed]
        unknown = {role for official in officials for role in official.roles} - set(ROLES)
        if unknown:
            raise ValueError(f"{path}: unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")
        return cls(officials)

    def sign_in(self, username: str, password: str) -> Official | None:
        """The official whose username and password these are; None otherwise, in the same time either way."""
        official = self._by_username.get(username)
        try:
            _HASHER.verify(official.password_hash if official else _NOBODY, password)
        except (VerificationError, InvalidHashError):
            return None
        return official


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_official(path: Path, username: str, name: str, agency_code: str, roles: list[str], password: str) -> None:
    """Writes `path` with this official added, or replacing the one of the same username; checked as the gateway
    reads it."""
    entry = {"username": username, "name": name, "agency_code": agency_code, "roles": roles,
             "password_hash": hash_password(password)}
    errors = OfficialSchemaForFile().validate(entry)
    if errors:
        raise ValueError(f"Not a valid official: {errors}")
    listed = json.loads(path.read_text(encoding="utf-8"))["officials"] if path.exists() else []
    written = json.dumps({"officials": [other for other in listed if other["username"] != username] + [entry]},
                         ensure_ascii=False, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(written, encoding="utf-8")
    path.chmod(0o600)  # hashes only, but no reason for anyone else to read them
    AccountBook.from_file(path)


class OfficialSchemaForFile(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    password_hash = fields.String(required=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.accounts", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("hash", help="print the hash of the password read on standard input")
    add = commands.add_parser("add", help="add an official to the accounts file (password on standard input)")
    add.add_argument("file", type=Path)
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--agency", required=True, help="the agency's code (QCVN 102), e.g. 000.00.51.H24")
    add.add_argument("--role", dest="roles", action="append", required=True, choices=ROLES)
    args = parser.parse_args()
    password = sys.stdin.readline().rstrip("\n")
    if args.command == "hash":
        print(hash_password(password))
        return
    if len(password) < MIN_PASSWORD_LENGTH:
        sys.exit(f"A password of at least {MIN_PASSWORD_LENGTH} characters, please.")
    try:
        add_official(args.file, args.username, args.name, args.agency, args.roles, password)
    except ValueError as refused:
        sys.exit(str(refused))
    print(f"{args.username} ({', '.join(args.roles)}, {args.agency}) is in {args.file}")


if __name__ == "__main__":
    main()
