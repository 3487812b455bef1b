"""Log lines are JSON with the service, the correlation id and the dossier code."""
import json
import logging

from motcua.logs import ContextFilter, correlation_id_var, dossier_context, json_formatter


def render(record: logging.LogRecord) -> dict:
    ContextFilter().filter(record)
    return json.loads(json_formatter("intake").format(record))


def make_record(msg: str, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("intake.service", logging.WARNING, __file__, 1, msg, (), exc_info)


def test_a_line_carries_the_dossier_code_and_correlation_id_of_its_worker():
    token = correlation_id_var.set("c0ffee")
    try:
        with dossier_context("000.00.51.H24-261126-0001"):
            line = render(make_record("dossier submitted"))
    finally:
        correlation_id_var.reset(token)
    assert line["service"] == "intake"
    assert line["dossier_code"] == "000.00.51.H24-261126-0001"
    assert line["correlation_id"] == "c0ffee"
    assert line["message"] == "dossier submitted"
    assert render(make_record("outside"))["dossier_code"] is None


def test_an_expected_refusal_is_logged_without_its_traceback_and_a_real_error_keeps_it():
    try:
        raise LookupError("no such dossier")
    except LookupError:
        import sys
        exc_info = sys.exc_info()
    assert "exc_info" not in render(make_record("(expected) error handling worker <x>: not_found", exc_info))
    assert "LookupError" in render(make_record("error handling worker <x>", exc_info))["exc_info"]


def test_a_tracking_key_in_a_logged_link_is_redacted_and_the_rest_of_the_line_kept():
    access = ('127.0.0.1 - - [07/Dec/2026 18:09:47] "GET /tra-cuu?code=000.00.51.H24-261207-0001'
              '&key=Qm9uZ0NoYW5oLUtleS0wMQ HTTP/1.1" 200 5970 0.028')
    line = render(make_record(access))["message"]
    assert "Qm9uZ0NoYW5oLUtleS0wMQ" not in line
    assert "?code=000.00.51.H24-261207-0001&key=[redacted] HTTP/1.1\" 200" in line
    receipt = logging.LogRecord("nameko.web.server", logging.INFO, __file__, 1, "%s", ("/dossiers/x/receipt?key=abc",),
                                None)
    assert render(receipt)["message"] == "/dossiers/x/receipt?key=[redacted]"
    assert render(make_record("idempotency_key=abc stays"))["message"] == "idempotency_key=abc stays"
