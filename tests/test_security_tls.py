"""HTTPS on the intranet server (docs/security.md §5): `python -m console.server --tls-cert --tls-key` serves TLS with
Secure cookies and HSTS; half a TLS configuration, a missing file or TLS on waitress is refused with a message."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest

from console.ports import free_port
from console.server import tls_options

ROOT = Path(__file__).resolve().parents[1]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_options_are_checked(tmp_path, monkeypatch):
    # setenv first: monkeypatch then restores the variable's absence at teardown (delenv of an absent variable
    # records nothing, and tls_options' "1" leaked into later tests' server nodes: Secure cookies over http)
    monkeypatch.setenv("PINGAN_SECURE_COOKIE", "")
    monkeypatch.delenv("PINGAN_SECURE_COOKIE")
    cert, key = _self_signed(tmp_path)
    assert tls_options(Namespace(tls_cert=None, tls_key=None, server="granian")) == {}
    for args, words in ((Namespace(tls_cert=str(cert), tls_key=None, server="granian"), "私钥"),
                        (Namespace(tls_cert=str(cert), tls_key=str(tmp_path / "no.pem"), server="granian"), "不存在"),
                        (Namespace(tls_cert=str(cert), tls_key=str(key), server="waitress"), "waitress")):
        with pytest.raises(SystemExit, match=words):
            tls_options(args)
    assert "PINGAN_SECURE_COOKIE" not in os.environ
    opts = tls_options(Namespace(tls_cert=str(cert), tls_key=str(key), server="granian"))
    assert opts["ssl_cert"] == cert and os.environ["PINGAN_SECURE_COOKIE"] == "1"


def test_the_server_speaks_https_with_secure_cookies_and_hsts(tmp_path):
    import requests
    import urllib3

    from tests.browser.tinyworld import build

    urllib3.disable_warnings()
    db = build(tmp_path / "tiny.sqlite")
    cert, key = _self_signed(tmp_path)
    port = free_port("127.0.0.1")
    env = {**os.environ, "PINGAN_WARM_CACHE": "0", "PYTHONPATH": str(ROOT)}
    env.pop("PINGAN_SECURE_COOKIE", None)
    proc = subprocess.Popen([sys.executable, "-m", "console.server", "--db", db, "--port", str(port), "--threads", "2",
                             "--tls-cert", str(cert), "--tls-key", str(key)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, r = time.monotonic() + 240, None
        while time.monotonic() < deadline:
            try:
                r = requests.get(f"https://127.0.0.1:{port}/login", verify=str(cert), timeout=10)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(1)
        assert r is not None and r.status_code == 200
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        assert all("secure" in c.lower() for c in r.raw.headers.getlist("Set-Cookie"))
        with pytest.raises(requests.ConnectionError):  # no plain HTTP on the TLS port
            requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
