"""Field encryption at rest, keyed lookup hashes, and data-key handling.

Cipher: AES-256-GCM by default, or SM4-GCM (商用密码, GB/T 32907) with ``PINGAN_DATA_CIPHER=sm4``; both
from the maintained ``cryptography`` package (OpenSSL), so no extra dependency. Each value is stored as
``<alg>:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`` with the table/column as associated data, so a
value copied into another column does not decrypt. The key id lets several keys coexist while rotating.

Key ring, outside the database file (never in the data folder):
  * ``PINGAN_DATA_KEY`` — one base64 32-byte key (the current one), or
  * ``PINGAN_DATA_KEY_FILE`` — a file with one ``<key id> <base64 key>`` per line, current key first,
    created with mode 0600 by ``python -m console.store.keys keygen --out PATH``;
    ``keygen --rotate`` prepends a new key and keeps the old ones for reading; ``reencrypt`` rewrites.
  * otherwise the per-user default file ``$XDG_CONFIG_HOME/pingan/data.key`` (``~/.config/pingan/data.key``)
    when it exists; ``make world``/``make run`` create it once (``ensure_key_file``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

KEY_ENV = "PINGAN_DATA_KEY"
KEY_FILE_ENV = "PINGAN_DATA_KEY_FILE"
CIPHER_ENV = "PINGAN_DATA_CIPHER"
PLAIN_PREFIX = "plain:"
BLIND_INDEX_CHARS = 32  # 128 bits of HMAC-SHA256, hex: ample for equality lookups, half the index size
CIPHER_PREFIXES = ("aes1:", "sm41:")


def is_ciphertext(value: str | None) -> bool:
    return bool(value) and value.startswith(CIPHER_PREFIXES)


def default_key_file(environ=None) -> Path:
    env = os.environ if environ is None else environ
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "pingan" / "data.key"


@lru_cache(maxsize=8)
def _aesgcm(key: bytes) -> AESGCM:
    return AESGCM(key)


@lru_cache(maxsize=16)
def _bidx_key(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, b"blind-index:" + purpose.encode(), hashlib.sha256).digest()


class DataKeyError(RuntimeError):
    """No usable data key, or a value that cannot be decrypted (wrong key, tampered)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"pingan-key-id" + key).hexdigest()[:8]


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[bytes, ...]  # current first
    cipher: str = "aes"  # "aes" or "sm4" for new writes

    def __post_init__(self):
        if not self.keys:
            raise DataKeyError("密钥环为空")
        for k in self.keys:
            if len(k) != 32:
                raise DataKeyError("数据密钥须为 32 字节（base64 编码）")
        if self.cipher not in ("aes", "sm4"):
            raise DataKeyError(f"不支持的算法: {self.cipher}")

    @property
    def current(self) -> bytes:
        return self.keys[0]

    def by_id(self, kid: str) -> bytes:
        for k in self.keys:
            if key_id(k) == kid:
                return k
        raise DataKeyError(f"找不到数据密钥 {kid}（密钥轮换后旧密钥须保留在密钥文件中直至重加密完成）")

    # -- AEAD ------------------------------------------------------------------------------
    def encrypt(self, plaintext: str, aad: str = "") -> str:
        key = self.current
        nonce = os.urandom(12)
        data = plaintext.encode("utf-8")
        if self.cipher == "aes":
            ct = _aesgcm(key).encrypt(nonce, data, aad.encode())
        else:
            enc = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce)).encryptor()
            enc.authenticate_additional_data(aad.encode())
            ct = enc.update(data) + enc.finalize() + enc.tag
        return f"{self.cipher}1:{key_id(key)}:{base64.b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str, aad: str = "") -> str:
        try:
            alg, kid, body = token.split(":", 2)
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise DataKeyError("密文格式错误") from None
        key = self.by_id(kid)
        nonce, ct = raw[:12], raw[12:]
        try:
            if alg == "aes1":
                data = _aesgcm(key).decrypt(nonce, ct, aad.encode())
            elif alg == "sm41":
                dec = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce, ct[-16:])).decryptor()
                dec.authenticate_additional_data(aad.encode())
                data = dec.update(ct[:-16]) + dec.finalize()
            else:
                raise DataKeyError(f"未知算法 {alg}")
        except DataKeyError:
            raise
        except Exception:  # InvalidTag
            raise DataKeyError("解密失败：密钥错误或数据被篡改") from None
        return data.decode("utf-8")

    # -- keyed lookup hash -----------------------------------------------------------------
    def encrypt_many(self, values, aad: str = "") -> list[str | None]:
        """`encrypt` for a column of values (bulk loads, migrations); None stays None."""
        if self.cipher != "aes":
            return [None if v is None else self.encrypt(v, aad) for v in values]
        values = list(values)
        key, ad = self.current, aad.encode()
        enc, prefix, b64 = _aesgcm(key).encrypt, f"aes1:{key_id(key)}:", base64.b64encode
        nonces = os.urandom(12 * len(values))  # one system call for the batch: random 96-bit nonces as before
        out = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            nonce = nonces[12 * i:12 * i + 12]
            out.append(prefix + b64(nonce + enc(nonce, v.encode("utf-8"), ad)).decode())
        return out

    # -- keyed lookup hash -----------------------------------------------------------------
    def blind_index(self, value: str, purpose: str = "id_number", key: bytes | None = None) -> str:
        """Keyed hash (HMAC-SHA256, first 128 bits in hex) of the normalised value.

        Stored beside an encrypted column (``person.id_number_bidx``) it allows exact-match lookups
        without decrypting. It is derived from the current data key, so `reencrypt` rewrites it
        after a rotation; until then `blind_indexes` gives the candidates under every key.
        """
        sub = _bidx_key(key or self.current, purpose)
        return hmac.digest(sub, value.strip().upper().encode("utf-8"), "sha256").hex()[:BLIND_INDEX_CHARS]

    def blind_indexes(self, value: str, purpose: str = "id_number") -> list[str]:
        """The value's blind index under each key of the ring (lookups stay correct mid-rotation)."""
        return [self.blind_index(value, purpose, k) for k in self.keys]

    def blind_index_map(self, values, purpose: str = "id_number") -> dict[str, str]:
        """{blind index: value} under every key of the ring, for a column of values (bulk look-ups by index)."""
        values = [v for v in values if v is not None]
        out: dict[str, str] = {}
        for key in self.keys:
            out.update(zip(self.blind_index_many(values, purpose, key), values))
        return out

    def blind_index_many(self, values, purpose: str = "id_number", key: bytes | None = None) -> list[str | None]:
        """`blind_index` for a column of values: HMAC with the key pads hashed once (2× faster in bulk)."""
        sub = _bidx_key(key or self.current, purpose).ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in sub))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in sub))
        out: list[str | None] = []
        for v in values:
            if v is None:
                out.append(None)
                continue
            i = inner.copy()
            i.update(v.strip().upper().encode("utf-8"))
            o = outer.copy()
            o.update(i.digest())
            out.append(o.hexdigest()[:BLIND_INDEX_CHARS])
        return out


def _sm4_key(key: bytes) -> bytes:
    return hmac.new(key, b"sm4-gcm", hashlib.sha256).digest()[:16]


def _parse_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise DataKeyError("数据密钥不是有效的 base64") from None
    if len(key) != 32:
        raise DataKeyError("数据密钥须为 32 字节（base64 编码）")
    return key


def read_key_file(path: Path) -> tuple[bytes, ...]:
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DataKeyError(f"密钥文件权限过宽（须为 0600）: {path}")
    keys = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        key = _parse_key(parts[-1])
        if len(parts) == 2 and parts[0] != key_id(key):
            raise DataKeyError(f"密钥文件中的密钥编号不符: {parts[0]}")
        keys.append(key)
    return tuple(keys)


def load_keyring(environ=None) -> KeyRing | None:
    """The configured key ring, or None when no key is configured."""
    env = os.environ if environ is None else environ
    cipher = env.get(CIPHER_ENV, "aes").lower()
    if env.get(KEY_ENV):
        return KeyRing((_parse_key(env[KEY_ENV]),), cipher)
    if env.get(KEY_FILE_ENV):
        return KeyRing(read_key_file(Path(env[KEY_FILE_ENV])), cipher)
    default = default_key_file(env)
    if default.exists():
        return KeyRing(read_key_file(default), cipher)
    return None


def require_keyring() -> KeyRing:
    ring = active_keyring()
    if ring is None:
        raise DataKeyError(f"未配置数据密钥：设置 {KEY_FILE_ENV}（或 {KEY_ENV}），或先运行 "
                           f"python -m console.store.keys keygen --out {default_key_file()}")
    return ring


def ensure_key_file(data_dir: Path | None = None) -> Path | None:
    """Create the default key file once when no key is configured (``make world``/``make run``).

    Returns the path of a newly written file, or None when a key was already configured."""
    if active_keyring() is not None:
        return None
    path = default_key_file()
    write_key_file(path, data_dir=data_dir)
    return path


_KEYRING_OVERRIDE: list[KeyRing | None] = []


def set_keyring(ring: KeyRing | None) -> None:
    """Install a key ring for this process (tests, or an app that loads the key its own way);
    ``None`` means "no key" until `reset_keyring`."""
    _KEYRING_OVERRIDE[:] = [ring]


def reset_keyring() -> None:
    """Back to the configured key ring (environment / key file)."""
    _KEYRING_OVERRIDE.clear()


_LOADED: dict[tuple, KeyRing | None] = {}
_STAT_EVERY_S = 1.0  # how often the key file is looked at again: every encrypted field asks (docs/field.md §10)
_STAMPS: dict[tuple, tuple[float, int | None]] = {}  # settings → (when looked at, the file's mtime then)


def active_keyring() -> KeyRing | None:
    """The process's key ring: `set_keyring`'s, else the configured one (re-read when the settings change at
    once, when the file changes within a second)."""
    if _KEYRING_OVERRIDE:
        return _KEYRING_OVERRIDE[0]
    env = os.environ
    settings = (env.get(KEY_ENV), env.get(KEY_FILE_ENV), env.get(CIPHER_ENV), env.get("XDG_CONFIG_HOME"),
                env.get("HOME"))
    seen = _STAMPS.get(settings)
    now = time.monotonic()
    if seen is None or now - seen[0] >= _STAT_EVERY_S:
        path = Path(env[KEY_FILE_ENV]) if env.get(KEY_FILE_ENV) else default_key_file(env)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = None
        _STAMPS.clear()
        _STAMPS[settings] = seen = (now, stamp)
    cache_key = (*settings, seen[1])
    if cache_key not in _LOADED:
        _LOADED.clear()
        _LOADED[cache_key] = load_keyring()
    return _LOADED[cache_key]


class EncryptedText(TypeDecorator):
    """A Text column whose values are encrypted with the active key ring.

    ``required=True`` (personal data) refuses to write without a key; ``required=False`` (e.g. a
    TOTP secret in a demo without a key) stores ``plain:``-prefixed text and encrypts once a key is set.
    An encrypted column cannot be searched or sorted: pair it with a `KeyRing.blind_index` column.
    """

    impl = Text
    cache_ok = True

    def __init__(self, aad: str, required: bool = True):
        super().__init__()
        self.aad = aad
        self.required = required

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        ring = active_keyring()
        if ring is None:
            if self.required:
                raise DataKeyError(f"未配置数据密钥（{KEY_ENV} 或 {KEY_FILE_ENV}），不能保存加密字段 {self.aad}")
            return PLAIN_PREFIX + value
        return ring.encrypt(value, self.aad)

    def seal_many(self, values) -> list[str | None]:
        """`process_bind_param` for a column of values (bulk inserts): one key look-up, AES-GCM in one loop."""
        values = list(values)
        ring = active_keyring()
        if ring is None:
            return [self.process_bind_param(v, None) for v in values]
        return ring.encrypt_many(values, self.aad)

    def open_many(self, values) -> list[str | None]:
        """`process_result_value` for a column of values (bulk reads): one key-ring look-up for the column."""
        ring = active_keyring()
        out = []
        for value in values:
            if value is None:
                out.append(None)
            elif value.startswith(PLAIN_PREFIX):
                out.append(value[len(PLAIN_PREFIX):])
            elif ring is None:
                raise DataKeyError(f"未配置数据密钥，不能读取加密字段 {self.aad}")
            else:
                out.append(ring.decrypt(value, self.aad))
        return out

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.startswith(PLAIN_PREFIX):
            return value[len(PLAIN_PREFIX):]
        ring = active_keyring()
        if ring is None:
            raise DataKeyError(f"未配置数据密钥，不能读取加密字段 {self.aad}")
        return ring.decrypt(value, self.aad)


def write_key_file(path: Path, rotate: bool = False, data_dir: Path | None = None) -> str:
    path = path.expanduser().resolve()
    if data_dir is not None and path.is_relative_to(data_dir.expanduser().resolve()):
        raise DataKeyError("密钥文件不能放在数据目录中")
    existing: tuple[bytes, ...] = ()
    if path.exists():
        if not rotate:
            raise DataKeyError(f"密钥文件已存在: {path}（轮换请加 --rotate）")
        existing = read_key_file(path)
    elif rotate:
        raise DataKeyError(f"密钥文件不存在: {path}")
    new = os.urandom(32)
    lines = [f"{key_id(k)} {base64.b64encode(k).decode()}" for k in (new, *existing)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# 平安一张图 数据密钥（第一行为当前密钥）。勿放入数据目录，勿提交版本库。\n")
        fh.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key_id(new)
