"""The local-disk attachment store: content-addressed, atomic, confined to its root."""
import hashlib

import pytest

from motcua.storage import LocalDiskStore, attachment_store


def test_put_returns_the_sha256_and_open_gives_the_bytes_back(tmp_path):
    store = LocalDiskStore(tmp_path)
    key = store.put(b"%PDF-1.4 hello")
    assert key == hashlib.sha256(b"%PDF-1.4 hello").hexdigest()
    with store.open(key) as file:
        assert file.read() == b"%PDF-1.4 hello"
    assert store.put(b"%PDF-1.4 hello") == key
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [key]  # one blob, no temp file left


def test_unknown_and_path_like_keys_are_refused(tmp_path):
    store = LocalDiskStore(tmp_path)
    (tmp_path / "secret").write_bytes(b"x")
    for key in ("0" * 64, "../secret", "secret", "/etc/passwd"):
        with pytest.raises(KeyError):
            store.open(key)


def test_the_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_ATTACHMENTS_DIR", str(tmp_path / "blobs"))
    key = attachment_store("intake").put(b"abc")
    assert (tmp_path / "blobs" / key[:2] / key).read_bytes() == b"abc"
    monkeypatch.delenv("INTAKE_ATTACHMENTS_DIR")
    monkeypatch.setenv("MOTCUA_VAR_DIR", str(tmp_path / "var"))
    assert attachment_store("intake").root == tmp_path / "var" / "attachments"
