"""Work items POSTed to the department's HTTP endpoint, which answers with a decision or "not yet".

    POST <DEPARTMENT_HTTP_URL>           body: the work item (the envelope as received)
        200 + a decision (JSON object)   decided
        202 or 204                       not yet: the same item is POSTed again every poll interval
    POST <DEPARTMENT_HTTP_URL>/outcomes  body: a command outcome (the envelope as received); any 2xx takes it

With DEPARTMENT_HTTP_TOKEN set, every request carries `Authorization: Bearer <token>`. Every request
carries the message's correlation id in `X-Correlation-ID`, so the department's logs join Mot Cua's.
The endpoint sees each item more than once, so it answers by the item's `event_id`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import requests


class HttpHandlerError(RuntimeError):
    pass


class HttpHandler:
    def __init__(self, url: str, timeout: float = 10.0, token: str | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _post(self, url: str, body: dict) -> requests.Response:
        headers = {"X-Correlation-ID": body["correlation_id"]} if body.get("correlation_id") else None
        response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        if response.status_code >= 300:
            raise HttpHandlerError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
        return response

    def handle(self, item: dict) -> dict | None:
        response = self._post(self.url, item)
        if response.status_code in (202, 204):
            return None
        try:
            return response.json()
        except ValueError:
            raise HttpHandlerError(f"POST {self.url} answered {response.status_code} without a JSON decision") from None

    def decisions(self, waiting: Mapping[str, dict]) -> Iterable[tuple[dict, str]]:
        # An endpoint that is down fails the first call and ends this poll, rather than one timeout per item.
        for event_id, item in waiting.items():
            decision = self.handle(item)
            if decision is not None:
                yield decision, event_id

    def published(self, ref: str, items: list[dict], command: dict) -> None:
        """Nothing to tidy: the endpoint learns what became of the command from its outcome."""

    def refused(self, ref: str, items: list[dict], errors: dict) -> None:
        """The adapter logs the errors; the item is POSTed again at the next poll."""

    def on_outcome(self, outcome: dict) -> None:
        self._post(f"{self.url}/outcomes", outcome)
