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
