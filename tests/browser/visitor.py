"""Pages in Debian's chromium, driven by Playwright: what every page must be, and its screenshot kept.

`Visitor` opens pages as a citizen or an official would (Vietnamese locale, a desktop or a phone
screen), records what the browser complains about, and `check` lists what is wrong with the page
it is on: a title, lang="vi", a label for every input, no console error and nothing the page
loads missing, the security headers, nothing wider than the screen.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, Response

ARTIFACTS = Path(os.environ.get("MOTCUA_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SECURITY_HEADERS = {
    "content-security-policy": re.compile(r"default-src 'none'.*frame-ancestors 'none'"),
    "x-content-type-options": re.compile(r"^nosniff$"),
    "referrer-policy": re.compile(r"^no-referrer$"),
}

_PAGE_PROBLEMS = """() => {
  const problems = [];
  if (document.documentElement.lang !== "vi") problems.push(`lang is "${document.documentElement.lang}"`);
  if (!document.title.trim()) problems.push("no title");
  for (const input of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button"].includes(input.type)) continue;
    const named = (input.labels && input.labels.length) || input.getAttribute("aria-label")
      || input.getAttribute("aria-labelledby");
    if (!named) problems.push(`no label for ${input.tagName.toLowerCase()} ${input.name || input.id}`);
  }
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth + 1) problems.push(`${width} px wide on a ${window.innerWidth} px screen`);
  return problems;
}"""


class Visitor:
    """One browser context (cookies of its own), one page; `errors` collects the console's errors."""

    def __init__(self, browser: Browser, screen: dict = DESKTOP):
        self.context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=screen,
                                           is_mobile=screen is PHONE, has_touch=screen is PHONE)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.last: Response | None = None
        self.page.on("response", self._remember)

    def _console(self, message) -> None:
        # A failed load is checked on the response itself (a page answering 404 is no error of the page).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _remember(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.last = response
        elif response.status >= 400:
            self.errors.append(f"{response.url} answered {response.status}")

    def open(self, url: str) -> Response:
        response = self.page.goto(url)
        assert response is not None, url
        return response

    def check(self) -> list[str]:
        """What is wrong with the page the visitor is on (after a navigation or a form post)."""
        problems = list(self.page.evaluate(_PAGE_PROBLEMS)) + [f"console: {error}" for error in self.errors]
        headers = self.last.headers if self.last is not None else {}
        problems += [f"header {name}: {headers.get(name)!r}" for name, wanted in SECURITY_HEADERS.items()
                     if not wanted.search(headers.get(name) or "")]
        self.errors.clear()
        return problems

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
