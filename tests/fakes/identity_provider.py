"""A fake OpenID Connect provider (the city's Keycloak in the tests): a real local HTTP server doing the
authorization code flow with PKCE as a provider must, strictly: registered redirect addresses only, codes used once,
the verifier checked against the challenge, the client's secret checked, ID tokens signed RS256 with a published key.

    with FakeIdentityProvider(clients={"motcua": ("secret", [redirect])}, users={"an": {...claims}}) as provider:
        provider.issuer, provider.approve(authorization_url, "an") -> the redirect back, with code and state

A browser gets a sign-in form at the authorization endpoint. `next_id_token` changes claims of the next ID token
(a wrong nonce, another audience...); `rotate_key()` publishes a new key and signs with it; `sign_unpublished`
signs with a key the JWKS does not list.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def _new_key() -> tuple[str, rsa.RSAPrivateKey]:
    return secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdentityProvider:
    def __init__(self, clients: dict[str, tuple[str | None, list[str]]], users: dict[str, dict],
                 host: str = "localhost") -> None:
        self.clients = clients  # client id -> (secret or None for a public client, registered redirect addresses)
        self.users = users  # username -> the claims its ID token carries besides the standard ones
        self.host = host  # "localhost" while the gateway is at 127.0.0.1: another site, as a real provider is
        self.next_id_token: dict = {}
        self.sign_unpublished = False
        self.token_requests: list[dict] = []
        self.logouts: list[dict] = []
        self._keys = [_new_key()]
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}/realms/motcua"

    def rotate_key(self) -> None:
        with self._lock:
            self._keys.insert(0, _new_key())

    def approve(self, authorization_url: str, username: str) -> str:
        """What the browser of `username` would be sent back to after signing in: the redirect with code and state."""
        query = {name: values[0] for name, values in parse_qs(urlsplit(authorization_url).query).items()}
        answer = requests.post(f"{self.issuer}/authorize", data={**query, "username": username},
                               allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def start(self) -> FakeIdentityProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeIdentityProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the endpoints do --------------------------------------------------------------------

    def _metadata(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout", "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"], "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"]}

    def _jwks(self) -> dict:
        with self._lock:
            published = list(self._keys)
        return {"keys": [{**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "RS256",
                          "use": "sig"} for kid, key in published]}

    def _authorization_error(self, query: dict) -> str | None:
        client = self.clients.get(query.get("client_id", ""))
        if client is None or query.get("redirect_uri") not in client[1]:
            return "unknown client or redirect address"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return "not an OpenID Connect code request"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "PKCE with S256 is required"
        if not query.get("state") or not query.get("nonce"):
            return "state and nonce are required"
        return None

    def _sign_in_form(self, query: dict) -> str:
        hidden = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                         for name, value in query.items())
        return ('<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập - SSO thành phố</title>'
                '</head><body><h1>Hệ thống đăng nhập một lần của thành phố</h1>'
                f'<form method="post" action="authorize">{hidden}'
                '<label for="username">Tài khoản công vụ</label><input id="username" name="username">'
                '<button type="submit">Đăng nhập</button>'
                '<button type="submit" name="cancel" value="1">Hủy</button></form></body></html>')

    def _approve(self, form: dict) -> str:
        redirect = form["redirect_uri"]
        if "cancel" in form or form.get("username") not in self.users:
            return f"{redirect}?{urlencode({'error': 'access_denied', 'state': form['state']})}"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {**form, "issued": time.time()}
        return f"{redirect}?{urlencode({'code': code, 'state': form['state']})}"

    def _token(self, form: dict, authorization: str) -> tuple[int, dict]:
        self.token_requests.append(dict(form))
        client_id, secret = form.get("client_id"), None
        if authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        client = self.clients.get(client_id or "")
        if client is None or (client[0] is not None and secret != client[0]):
            return 401, {"error": "invalid_client"}
        with self._lock:
            granted = self._codes.pop(form.get("code", ""), None)  # a code is good once
        if granted is None or granted["client_id"] != client_id or granted["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != granted["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": f"sub-{granted['username']}", "aud": client_id, "azp": client_id,
                  "iat": now, "exp": now + 300, "nonce": granted["nonce"], **self.users[granted["username"]],
                  **self.next_id_token}
        self.next_id_token = {}
        with self._lock:
            kid, key = _new_key() if self.sign_unpublished else self._keys[0]
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                     "id_token": id_token}

    def _handler_class(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: str, content_type: str, headers: dict | None = None) -> None:
                encoded = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(encoded)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(encoded)

            def _json(self, status: int, body: dict) -> None:
                self._answer(status, json.dumps(body), "application/json")

            def _redirect(self, location: str) -> None:
                self._answer(302, "", "text/plain", {"Location": location})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path, query = parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}
                if path == "/realms/motcua/.well-known/openid-configuration":
                    self._json(200, provider._metadata())
                elif path == "/realms/motcua/jwks":
                    self._json(200, provider._jwks())
                elif path == "/realms/motcua/authorize":
                    error = provider._authorization_error(query)
                    if error:
                        self._answer(400, error, "text/plain; charset=utf-8")
                    else:
                        self._answer(200, provider._sign_in_form(query), "text/html; charset=utf-8")
                elif path == "/realms/motcua/logout":
                    provider.logouts.append(query)
                    self._redirect(query.get("post_logout_redirect_uri", provider.issuer))
                else:
                    self._answer(404, "not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path
                if path == "/realms/motcua/authorize":
                    error = provider._authorization_error(form)
                    if error:
                        self._answer(400, error, "text/plain; charset=utf-8")
                    else:
                        self._redirect(provider._approve(form))
                elif path == "/realms/motcua/token":
                    self._json(*provider._token(form, self.headers.get("Authorization", "")))
                else:
                    self._answer(404, "not found", "text/plain")

        return Handler
