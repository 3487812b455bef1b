"""Officials' accounts for the built-in sign-in: a file the city's operators keep, passwords as Argon2id hashes.

`GATEWAY_OFFICIALS_FILE` (JSON) lists the officials:
    {"officials": [{"username": "tiepnhan.vinhbao", "name": "Nguyễn Thị Lan", "agency_code": "000.00.51.H24",
                    "roles": ["receptionist"], "password_hash": "$argon2id$..."}]}
`python -m gateway.accounts hash` reads a password on standard input and prints its hash for the file.
The file is read once at start-up; no file, no built-in sign-in (bearer tokens keep working).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from motcua_contracts.desk import ROLES

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so an unknown name takes as long as a wrong password.
_NOBODY = _HASHER.hash("no official has this password")


@dataclass(frozen=True)
class Official:
    username: str
    name: str
    agency_code: str
    roles: tuple[str, ...]
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


def main() -> None:
    if sys.argv[1:] != ["hash"]:
        sys.exit("usage: python -m gateway.accounts hash < password")
    print(hash_password(sys.stdin.readline().rstrip("\n")))


if __name__ == "__main__":
    main()
