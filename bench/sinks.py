"""Where bench/pipeline.py's citizens receive their notices: a local SMTP server (aiosmtpd) and an SMS gateway
that accept everything and say, one line each on stdout, which notice reached which dossier's citizen, when.

    python bench/sinks.py

prints `ready <SMTP port> <SMS port>` once both listen (notify's NOTIFY_SMTP_PORT and NOTIFY_SMS_URL
http://127.0.0.1:<SMS port>/sms), then one line per message:
`notice <template> <sms|email> <dossier code> <time.monotonic()>`; SIGTERM stops it.

Lean on purpose, one asyncio loop in a process of its own: notify opens an SMTP connection per e-mail, and
the tests' fakes (tests/fakes), which parse and keep every message in the test's process, would cost the
load generator more than what it measures.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import time
from email import policy
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP

from motcua_contracts.codes import DOSSIER_CODE_REGEX

DOSSIER_CODE = re.compile(DOSSIER_CODE_REGEX + r"(?![0-9])")  # the whole sequence, past its 4th digit too
# The notices a dossier of the pipeline gets, told apart by a phrase only their texts (SMS body, e-mail subject)
# have, in notify's Vietnamese templates (services/notify/notify/templates/vi); checked in this order.
TEMPLATE_PHRASES = (("result_ready", "đã có kết quả"), ("filed_online", "nộp trực tuyến"),
                    ("receipt", "hẹn trả kết quả"))
HEADERS = BytesHeaderParser(policy=policy.default)


def report(text: str, channel: str) -> None:
    lowered = text.lower()
    template = next((name for name, phrase in TEMPLATE_PHRASES if phrase in lowered), "other")
    found = DOSSIER_CODE.search(text)
    print("notice", template, channel, found.group(0) if found else "-", f"{time.monotonic():.6f}", flush=True)


class Mail:
    """aiosmtpd's handler: the subject names the dossier and the notice; the body is not read."""

    async def handle_DATA(self, server, session, envelope) -> str:
        report(str(HEADERS.parsebytes(envelope.content)["Subject"]), "email")
        return "250 OK"


SMS_IDS = itertools.count(1)


async def sms_gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive, as notify's requests session speaks it: each POST is one SMS, answered 200."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1)) if length else 0)
            report(json.loads(body)["text"], "sms")
            answer = json.dumps({"id": f"bench-{next(SMS_IDS)}"}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(answer), answer))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass  # notify closed the connection, or we stop
    finally:
        writer.close()


async def main() -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    mail = await loop.create_server(lambda: SMTP(Mail(), hostname="bench.localhost"), "127.0.0.1", 0)
    sms = await asyncio.start_server(sms_gateway, "127.0.0.1", 0)
    print("ready", mail.sockets[0].getsockname()[1], sms.sockets[0].getsockname()[1], flush=True)
    await stopped.wait()
    mail.close()
    sms.close()


if __name__ == "__main__":
    asyncio.run(main())
