"""Hardening helpers: HTML escaping, safe names and redirects, API keys, rate limiting, log redaction."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape


def escape_html(value) -> str:
    """Escape text for any server-side HTML (popups, tooltips, tables, pages). None → ''."""
    if value is None:
        return ""
    if isinstance(value, Markup):  # never trust pre-marked input from data: escape its text again
        value = str(value)
    return str(escape(value))


def safe_filename(name: str, default: str = "export") -> str:
    """A file name without directories, traversal or control characters (for downloads and uploads)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*;]", "", name).strip().lstrip(".")
    return name[:120] or default


def safe_next_url(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths; refuses //host, scheme URLs and backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


# -- API keys ---------------------------------------------------------------------------------
API_KEY_PREFIX = "pak"


def generate_api_key() -> tuple[str, str, str]:
    """(full key shown once, public prefix for lookup, SHA-256 hex to store)."""
    prefix = f"{API_KEY_PREFIX}_{secrets.token_hex(4)}"
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # The key has 256 bits of entropy, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_prefix(key: str) -> str | None:
    prefix, sep, _ = key.partition(".")
    return prefix if sep and prefix.startswith(API_KEY_PREFIX + "_") and len(prefix) <= 16 else None


def verify_api_key(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)


# -- rate limiting ----------------------------------------------------------------------------
@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """In-memory token bucket per key (client IP, API key). `clock` returns seconds (monotonic)."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, cost: float = 1.0) -> bool:
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._evict(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return True
            return False

    def _evict(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # still full: drop the oldest half
            for k in sorted(self._buckets, key=lambda k: self._buckets[k].stamp)[: self.max_keys // 2]:
                del self._buckets[k]


# -- log redaction ----------------------------------------------------------------------------
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_SECRET_RE = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|csrf_token|totp|otp|密码|口令)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s\"'&,;}]+)")
_COOKIE_RE = re.compile(r"(?i)((?:pingan_session|session)=)([^;\s]+)")
_KEY_RE = re.compile(r"\b(pak_[0-9a-f]{8})\.[A-Za-z0-9_\-]+")
# a file's SHA-256, a blind index, a row hash: 32+ hex characters whose digits may happen to read as a mobile
# number (…caa17712708646d5…), which is no personal data and must stay whole (an audit names the file it imported)
_DIGEST_RE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])")


def redact_text(text: str) -> str:
    """Mask identity numbers (first 6 + last 4), mobile numbers, passwords, tokens, cookies, API keys."""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    digests = [m.span() for m in _DIGEST_RE.finditer(text)]  # spans kept: both masks keep a match's length
    text = _PHONE_RE.sub(lambda m: m.group(0) if any(a <= m.start() < b for a, b in digests)
                         else m.group(1) + "****" + m.group(2), text)
    text = _SECRET_RE.sub(lambda m: m.group(1) + "***", text)
    text = _COOKIE_RE.sub(lambda m: m.group(1) + "***", text)
    text = _KEY_RE.sub(lambda m: m.group(1) + ".***", text)
    return text


class RedactingFilter(logging.Filter):
    """Attach to handlers (or the root logger) so that no secret or personal number reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record as it is
            return True
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    flt = RedactingFilter()
    target = logger or logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(flt)
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
