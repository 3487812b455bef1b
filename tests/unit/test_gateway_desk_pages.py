"""The officials' sign-in: accounts with Argon2id hashes (gateway.accounts), and the desk pages' session checks
and forms (gateway.desk_pages)."""
import io
import json
import subprocess
import sys
from functools import partial

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from gateway.accounts import AccountBook, hash_password
from gateway.desk_pages import action_from_form, check_csrf
from motcua.errors import Forbidden, ValidationFailed


@pytest.fixture
def accounts(tmp_path):
    path = tmp_path / "officials.json"
    path.write_text(json.dumps({"officials": [
        {"username": "tiepnhan.vinhbao", "name": "Nguyễn Thị Lan", "agency_code": "000.00.51.H24",
         "roles": ["receptionist"], "password_hash": hash_password("mot-cua-2026")}]}))
    return AccountBook.from_file(path)


def test_an_official_signs_in_with_the_password_only_and_the_file_keeps_no_password(accounts, tmp_path):
    official = accounts.sign_in("tiepnhan.vinhbao", "mot-cua-2026")
    assert (official.agency_code, official.roles) == ("000.00.51.H24", ("receptionist",))
    assert official.password_hash.startswith("$argon2id$") and "mot-cua-2026" not in official.password_hash
    assert accounts.sign_in("tiepnhan.vinhbao", "mot-cua-2025") is None
    assert accounts.sign_in("nobody", "mot-cua-2026") is None


def test_a_file_granting_a_role_the_desk_does_not_know_is_refused_at_start_up(tmp_path):
    path = tmp_path / "officials.json"
    path.write_text(json.dumps({"officials": [{"username": "x", "name": "x", "agency_code": "000.00.51.H24",
                                               "roles": ["superuser"], "password_hash": hash_password("x")}]}))
    with pytest.raises(ValueError, match="superuser"):
        AccountBook.from_file(path)


def test_a_form_must_carry_its_sessions_csrf_value():
    check_csrf(MultiDict({"csrf": "abc123"}), {"csrf": "abc123"})
    for sent, claims in (({"csrf": "forged"}, {"csrf": "abc123"}), ({}, {"csrf": "abc123"}),
                         ({"csrf": ""}, {})):  # a token without the claim (a bearer token) opens no form
        with pytest.raises(Forbidden):
            check_csrf(MultiDict(sent), claims)


def test_an_action_form_becomes_the_apis_command():
    form = MultiDict({"action": "request_supplement", "missing_items": "Bản sao giấy chứng sinh\r\n\r\nSổ hộ khẩu\n",
                      "reason": "  Thiếu giấy tờ ", "expected_version": "3", "assignee": ""})
    assert action_from_form(form, MultiDict()) == {
        "action": "request_supplement", "missing_items": ["Bản sao giấy chứng sinh", "Sổ hộ khẩu"],
        "reason": "Thiếu giấy tờ", "expected_version": 3, "to_agency_code": None, "assignee": None, "fee_vnd": None,
        "result_document": None}
    result = FileStorage(stream=io.BytesIO(b"%PDF-1.4"), filename="ket-qua.pdf", name="result_document")
    completed = action_from_form(MultiDict({"action": "complete"}), MultiDict({"result_document": result}))
    assert completed["result_document"] == {"filename": "ket-qua.pdf", "content_base64": "JVBERi0xLjQ="}
    with pytest.raises(ValidationFailed) as refused:
        action_from_form(MultiDict({"action": "transfer", "to_agency_code": "not-an-agency"}), MultiDict())
    assert "to_agency_code" in refused.value.fields


def test_the_accounts_tool_adds_and_replaces_an_official_with_only_the_hash_kept(tmp_path):
    path = tmp_path / "officials" / "officials.json"
    run = partial(subprocess.run, capture_output=True, text=True, timeout=60)
    tool = [sys.executable, "-m", "gateway.accounts", "add", str(path)]
    added = run([*tool, "xuly.vinhbao", "--name", "Trần Văn Minh", "--agency", "000.00.51.H24", "--role", "handler"],
                input="mot-cua-xu-ly-2026\n")
    assert added.returncode == 0, added.stderr
    replaced = run([*tool, "xuly.vinhbao", "--name", "Trần Văn Minh", "--agency", "000.00.51.H24", "--role",
                    "handler", "--role", "approver"], input="mat-khau-moi-2027\n")
    assert replaced.returncode == 0, replaced.stderr
    book = AccountBook.from_file(path)
    assert book.sign_in("xuly.vinhbao", "mot-cua-xu-ly-2026") is None
    assert book.sign_in("xuly.vinhbao", "mat-khau-moi-2027").roles == ("handler", "approver")
    assert "mat-khau-moi-2027" not in path.read_text() and path.stat().st_mode & 0o077 == 0

    refused = run([*tool, "khach", "--name", "Khách", "--agency", "H24", "--role", "handler"], input="mot-cua-2026-x\n")
    short = run([*tool, "khach", "--name", "Khách", "--agency", "000.00.51.H24", "--role", "handler"], input="ngan\n")
    assert refused.returncode != 0 and "agency_code" in refused.stderr
    assert short.returncode != 0 and [entry["username"] for entry in json.loads(path.read_text())["officials"]] == [
        "xuly.vinhbao"]
