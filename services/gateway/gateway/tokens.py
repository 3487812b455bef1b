"""Issue and revoke officials' tokens.

    python -m gateway.tokens issue --subject nva --agency 000.00.00.H49 --role handler [--role approver] \\
        [--ttl-hours 8]
    python -m gateway.tokens revoke --token TOKEN
    python -m gateway.tokens revoke --token-id JTI --expires-at 2026-11-25T18:00:00+00:00

`issue` signs with JWT_SECRET or JWT_PRIVATE_KEY from the environment, as the gateway verifies with
them (`make run` keeps this machine's JWT_SECRET in var/local-jwt-secret), and prints the token on
stdout (its jti and exp on stderr, for the record and for a later revoke). `revoke` asks status to
refuse the token from now until it expires anyway: given the token, it reads the jti and exp from it,
checked with the same key. It reaches status through AMQP_URI, read as the services read it and
named on stderr first.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone

from marshmallow import ValidationError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

import motcua.dependencies  # noqa: F401 - registers motcua.errors, so status's refusals arrive as themselves
from motcua.config import command_broker, env, env_float, var_dir
from motcua.errors import MotCuaError
from motcua_contracts.base import shared
from motcua_contracts.desk import ROLES, TokenRevokedSchema

from gateway.auth import TokenRefused, issue_token, keys_from_config, verify_token

MAX_TTL_HOURS = 24 * 30  # a revoked id is kept until its token expires: bound how long that is
# Where `make run` (scripts/run_local.py) keeps this machine's JWT_SECRET, under MOTCUA_VAR_DIR.
LOCAL_SECRET_FILE = "local-jwt-secret"


def missing_key_help() -> str:
    """What to set when no key is configured, naming this machine's `make run` key when there is one."""
    local = var_dir() / LOCAL_SECRET_FILE
    hint = f"; the key `make run` uses here: export JWT_SECRET=$(cat {local})" if local.exists() else ""
    return f"set JWT_SECRET or JWT_PRIVATE_KEY (JWT_PUBLIC_KEY to revoke by --token) in the environment{hint}"


def revoke(config: dict, token_id: str, expires_at: str, timeout: float) -> dict:
    """Ask status to refuse this token id until `expires_at`; status's answer."""
    revoked = shared(TokenRevokedSchema).dump(shared(TokenRevokedSchema).load({"token_id": token_id, "expires_at": expires_at}))
    with ClusterRpcProxy(config, timeout=timeout) as services:
        return services.status.revoke_token(revoked["token_id"], revoked["expires_at"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.tokens", description="Officials' tokens.")
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="print a signed token for an official")
    issue.add_argument("--subject", required=True, help="the official's user id")
    issue.add_argument("--agency", required=True, help="the agency's QCVN 102 code")
    issue.add_argument("--role", required=True, action="append", choices=ROLES, dest="roles")
    issue.add_argument("--ttl-hours", type=float, default=8)
    revoke_parser = commands.add_parser("revoke", help="refuse a token from now on")
    revoked = revoke_parser.add_mutually_exclusive_group(required=True)
    revoked.add_argument("--token", help="the token itself: its jti and exp are read from it")
    revoked.add_argument("--token-id", help="the token's jti, with --expires-at")
    revoke_parser.add_argument("--expires-at", help="the token's exp, ISO 8601 with offset (with --token-id)")
    args = parser.parse_args(argv)

    if args.command == "issue":
        if not 0 < args.ttl_hours <= MAX_TTL_HOURS:
            parser.error(f"--ttl-hours must be more than 0 and at most {MAX_TTL_HOURS}")
        try:
            keys = keys_from_config(env)
            if keys is None:
                parser.error(missing_key_help())
            token, claims = issue_token(keys, args.subject, args.agency, args.roles, timedelta(hours=args.ttl_hours))
        except ValueError as exc:
            parser.error(str(exc))
        print(token)
        expires = datetime.fromtimestamp(claims["exp"], timezone.utc).isoformat()
        print(f"jti {claims['jti']}\nexp {expires}", file=sys.stderr)
        return 0

    if (args.token_id is None) != (args.expires_at is None):
        parser.error("--token-id and --expires-at go together")
    token_id, expires_at = args.token_id, args.expires_at
    if args.token is not None:
        try:
            keys = keys_from_config(env)
        except ValueError as exc:
            parser.error(str(exc))
        if keys is None:
            parser.error(missing_key_help())
        try:
            official = verify_token(args.token, keys)
        except TokenRefused as exc:
            print(f"not revoked: {exc.message}", file=sys.stderr)
            return 1
        token_id, expires_at = official["token_id"], official["expires_at"]
    try:
        result = revoke({"AMQP_URI": command_broker(parser.prog)}, token_id, expires_at,
                        env_float("RPC_TIMEOUT_SECONDS", 10))
    except ValidationError as exc:
        parser.error(f"invalid arguments: {exc.messages}")
    except (MotCuaError, RpcTimeout, UnknownService) as exc:
        print(f"not revoked: {exc!r}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
