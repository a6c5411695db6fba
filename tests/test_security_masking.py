"""Masking, audited unmasking, exports in every format, escaping, log redaction, encryption, API keys, limiter."""

import base64
import io
import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import Integer, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from console.security import guard
import sectest as testing
from console.store import crypto, keys
from console.store.crypto import DataKeyError, EncryptedText, KeyRing
from console.security.guard import AccessDenied
from console.security.hardening import (
    RateLimiter, RedactingFilter, api_key_prefix, escape_html, generate_api_key, hash_api_key, redact_text,
    safe_filename, safe_next_url, verify_api_key,
)
from console.security.masking import export_table, mask_record, unmask_record, watermark_text
from console.store.security_models import AuditLog

testing.use_fast_hasher()
ID = "610902199001011234"
PHONE = "13912345678"
GRID = "610902001001001"
XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'
ROWS = [{"name": "张三", "id_number": ID, "phone": PHONE, "address": "汉滨区老城街道新城社区3号楼2单元501",
         "details": '{"crime": "盗窃"}', "note": XSS},
        {"name": "=HYPERLINK(\"http://evil\")", "id_number": "610902198512120021", "phone": None,
         "address": None, "details": "{}", "note": "+cmd"}]
COLUMNS = [("name", "姓名"), ("id_number", "身份证号"), ("phone", "电话"), ("address", "地址"),
           ("details", "详情"), ("note", "备注")]


@pytest.fixture
def env(tmp_path):
    clock = testing.Clock()
    engine, factory = testing.store(tmp_path)
    testing.add_account(factory, "worker", ["grid_worker"], [GRID])
    testing.add_account(factory, "town", ["town"], ["610902001"])
    testing.add_account(factory, "leader", ["city_leader"], ["610900"])
    yield factory, {n: testing.viewer_of(factory, n, clock) for n in ("worker", "town", "leader")}
    engine.dispose()


def audit_rows(factory, actor):
    with factory() as s:
        return s.execute(select(AuditLog.action, AuditLog.result).where(AuditLog.actor == actor)).all()


def test_mask_record_masks_and_drops_secrets():
    masked = mask_record(ROWS[0])
    assert masked["id_number"] == "610902********1234" and masked["phone"] == "139****5678"
    assert "501" not in masked["address"] and "details" not in masked


def test_unmask_is_permitted_scoped_and_audited(env):
    factory, v = env
    full = unmask_record(v["worker"], ROWS[0], area_code=GRID, obj="person:1")
    assert full["id_number"] == ID
    assert ("unmask", "granted") in audit_rows(factory, "worker")
    with pytest.raises(AccessDenied):
        unmask_record(v["worker"], ROWS[0], area_code="610902001001002", obj="person:2")  # other grid
    with pytest.raises(AccessDenied):
        unmask_record(v["leader"], ROWS[0], area_code=GRID, obj="person:1")  # role without unmask
    assert ("access.denied", "refused") in audit_rows(factory, "worker")
    assert ("access.denied", "refused") in audit_rows(factory, "leader")


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_every_export_format_is_masked_watermarked_and_audited(env, fmt):
    factory, v = env
    name, data = export_table(v["town"], "persons", COLUMNS, ROWS, fmt, area_code="610902001")
    assert name.endswith("." + fmt) and "/" not in name
    if fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(data)).active
        cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        body = "\n".join(cells)
        assert cells[0].startswith("平安一张图 · 导出人 town")
    else:
        body = data.decode("utf-8-sig")
        if fmt == "json":
            assert json.loads(body)["watermark"].startswith("平安一张图 · 导出人 town")
            body = json.dumps(json.loads(body), ensure_ascii=False)
        else:
            assert body.startswith("# 平安一张图 · 导出人 town")
    assert ID not in body and PHONE not in body and "610902198512120021" not in body
    assert "610902********1234" in body and "盗窃" not in body
    if fmt != "json":
        assert "'=HYPERLINK" in body and "'+cmd" in body  # formula injection neutralised
    assert ("export", "granted") in audit_rows(factory, "town")


def test_export_requires_the_permission_and_the_area(env):
    factory, v = env
    with pytest.raises(AccessDenied):
        export_table(v["worker"], "persons", COLUMNS, ROWS, "csv")  # 网格员 has no export
    with pytest.raises(AccessDenied):
        export_table(v["town"], "persons", COLUMNS, ROWS, "csv", area_code="610902002")  # other town
    with pytest.raises(ValueError):
        export_table(v["town"], "persons", COLUMNS, ROWS, "html")


def test_watermark_names_the_user_and_time():
    viewer = guard.Viewer.build("zhangsan", ["town"], ["610902001"], display_name="张三")
    mark = watermark_text(viewer, testing.Clock()())
    assert "张三(zhangsan)" in mark and "2026-11-26 16:00:00" in mark  # UTC 08:00 → 北京时间


def test_xss_payload_is_escaped():
    out = escape_html(XSS)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert out.startswith("&lt;script&gt;")
    from markupsafe import Markup

    assert "<b>" not in escape_html(Markup("<b>x</b>"))
    assert escape_html(None) == ""


def test_safe_file_names_and_redirects():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("...") == "export"
    assert safe_filename("a\x00b;c.csv") == "abc.csv"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)", "", None):
        assert safe_next_url(bad) == "/"
    assert safe_next_url("/?area=610902") == "/?area=610902"


def test_log_redaction_filter(caplog):
    logger = logging.getLogger("pingan.test.redact")
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("login %s password=%s phone %s key pak_0123abcd.SECRETSECRET cookie pingan_session=abc",
                       ID, "Hunter#2", PHONE)
        out = handler.stream.getvalue()
    finally:
        logger.removeHandler(handler)
    assert ID not in out and "Hunter#2" not in out and PHONE not in out and "SECRETSECRET" not in out
    assert "610902********1234" in out and "139****5678" in out and "pingan_session=***" in out
    assert redact_text("密码: abc123") == "密码: ***"


def test_redaction_leaves_digests_whole_and_still_masks_numbers_beside_letters():
    """An import's audit names the file by its SHA-256; its hex digits may read as a mobile number and are kept."""
    digest = "727f269b58c1057d8adcca63ae731caa17712708646d5d783ea58cfcce07da6d"
    assert redact_text(f'{{"sha256": "{digest}"}}') == f'{{"sha256": "{digest}"}}'
    assert redact_text(f"电话13912345678，文件 {digest}") == f"电话139****5678，文件 {digest}"
    assert redact_text("tel13912345678") == "tel139****5678"


def test_api_keys_are_hashed_and_compared():
    key, prefix, digest = generate_api_key()
    assert key.startswith(prefix + ".") and api_key_prefix(key) == prefix
    assert digest == hash_api_key(key) and key not in digest
    assert verify_api_key(key, digest) and not verify_api_key(key + "x", digest)
    assert api_key_prefix("garbage") is None


def test_rate_limiter_token_bucket_with_injected_clock():
    t = [100.0]
    limiter = RateLimiter(burst=2, per_minute=60, clock=lambda: t[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")
    t[0] += 1.0
    assert limiter.allow("a") and not limiter.allow("a")
    t[0] += 100
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")  # capped at burst
    small = RateLimiter(burst=1, per_minute=1, clock=lambda: t[0], max_keys=10)
    for i in range(50):
        small.allow(str(i))
    assert len(small._buckets) <= 10


# -- encryption --------------------------------------------------------------------------------
class _Base(DeclarativeBase):
    pass


class _Secret(_Base):
    __tablename__ = "secret_demo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(EncryptedText("secret_demo.id_number"))
    id_number_hmac: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str | None] = mapped_column(EncryptedText("secret_demo.details"))


@pytest.fixture
def keyring():
    ring = KeyRing((os.urandom(32),))
    crypto.set_keyring(ring)
    yield ring
    crypto.reset_keyring()


@pytest.mark.parametrize("cipher", ["aes", "sm4"])
def test_encrypted_column_round_trip_and_at_rest(keyring, cipher):
    ring = KeyRing(keyring.keys, cipher)
    crypto.set_keyring(ring)
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(_Secret(id=1, id_number=ID, id_number_hmac=ring.blind_index(ID), details='{"诊断": "精神分裂症"}'))
        s.commit()
    with engine.connect() as c:
        raw = c.execute(text("select id_number, details from secret_demo")).one()
    assert ID not in raw[0] and "精神" not in raw[1] and raw[0].startswith(f"{cipher}1:")
    with Session(engine) as s:
        row = s.get(_Secret, 1)
        assert row.id_number == ID and "精神分裂症" in row.details
        # Exact-match lookup through the keyed hash column, without decrypting anything.
        assert s.scalar(select(_Secret.id).where(_Secret.id_number_hmac == ring.blind_index(" 610902199001011234 ")))
    # A value moved to another column does not decrypt (associated data).
    with engine.begin() as c:
        c.execute(text("update secret_demo set details = id_number"))
    with Session(engine) as s, pytest.raises(DataKeyError):
        s.get(_Secret, 1).details


def test_wrong_key_and_tampering_are_refused(keyring):
    token = keyring.encrypt(ID, "t.c")
    other = KeyRing((os.urandom(32),))
    with pytest.raises(DataKeyError):
        other.decrypt(token, "t.c")
    alg, kid, body = token.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DataKeyError):
        keyring.decrypt(f"{alg}:{kid}:{base64.b64encode(bytes(raw)).decode()}", "t.c")


def test_no_key_refuses_to_store_personal_data(monkeypatch, tmp_path):
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    monkeypatch.delenv(crypto.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no default key file either
    crypto.reset_keyring()
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s, pytest.raises(Exception) as exc:
        s.add(_Secret(id=1, id_number=ID))
        s.commit()
    assert "数据密钥" in str(exc.value)


def test_key_file_is_0600_outside_the_data_folder_and_rotates(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(DataKeyError):
        crypto.write_key_file(data / "k.key", data_dir=data)
    path = tmp_path / "keys" / "data.key"
    first = crypto.write_key_file(path, data_dir=data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(DataKeyError):
        crypto.write_key_file(path)  # never overwritten by accident
    old_ring = KeyRing(crypto.read_key_file(path))
    token = old_ring.encrypt(ID, "a")
    second = crypto.write_key_file(path, rotate=True)
    ring = crypto.load_keyring({crypto.KEY_FILE_ENV: str(path)})
    assert crypto.key_id(ring.current) == second != first
    assert ring.decrypt(token, "a") == ID  # old values still readable
    assert ring.encrypt(ID, "a").split(":")[1] == second
    path.chmod(0o644)
    with pytest.raises(DataKeyError):
        crypto.read_key_file(path)


def test_reencrypt_after_rotation(tmp_path):
    k1, k2 = os.urandom(32), os.urandom(32)
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    crypto.set_keyring(KeyRing((k1,)))
    try:
        with Session(engine) as s:
            s.add_all([_Secret(id=i, id_number=f"61090219900101{i:04d}") for i in range(5)])
            s.commit()
        crypto.set_keyring(KeyRing((k2, k1)))
        with Session(engine) as s:
            assert keys.reencrypt(s, _Secret, "id_number") == 5
            s.commit()
        crypto.set_keyring(KeyRing((k2,)))  # the old key can now be dropped
        with Session(engine) as s:
            assert [r.id_number for r in s.scalars(select(_Secret).order_by(_Secret.id))][0] == "610902199001010000"
    finally:
        crypto.reset_keyring()


def test_keygen_cli(tmp_path):
    out = tmp_path / "k" / "data.key"
    run = subprocess.run([sys.executable, "-m", "console.store.keys", "keygen", "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and stat.S_IMODE(out.stat().st_mode) == 0o600
    again = subprocess.run([sys.executable, "-m", "console.store.keys", "keygen", "--out", str(out)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "已存在" in again.stderr
