"""The reference for bench/pipeline.py's lookups: a nameko HTTP endpoint that answers the public view's route
with a small JSON body and does nothing else (no RPC, no database), run as its own process.

    python -m nameko run trivial_http --config <file with WEB_SERVER_ADDRESS>    # from bench/

Whatever the gateway's lookup costs beyond this is ours: the RPC hop to status, its query, the checks.
"""
import json

from nameko.web.handlers import http


class TrivialService:
    name = "bench_trivial"

    @http("GET", "/api/v1/dossiers/<code>")
    def dossier(self, request, code):
        return 200, {"Content-Type": "application/json"}, json.dumps({"dossier_code": code, "state": "submitted"})
