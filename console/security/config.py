"""Security settings. Defaults follow docs/domain.md §7 (等级保护 level 3); `clock` is injectable for tests.

Settings that the system administrator may change at run time (`TUNABLE`) are stored in the
`security_setting` table and bounded so that no one can weaken them below the policy.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, like every DateTime column in the store."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Settings:
    password_min_length: int = 8
    password_min_classes: int = 3
    password_max_age_days: int = 90  # forced change after N days
    lock_threshold: int = 5  # consecutive failures
    lock_minutes: int = 30
    idle_minutes: int = 30
    session_max_hours: int = 12  # absolute lifetime, whatever the activity
    login_rate_burst: int = 10  # per client IP
    login_rate_per_minute: float = 6.0
    api_rate_burst: int = 60  # per API key
    api_rate_per_minute: float = 600.0
    max_request_bytes: int = 8 * 1024 * 1024
    unmask_per_minute: float = 30.0  # full values per account and minute; a burst alerts the security admin
    duplicate_checks_per_minute: float = 30.0  # dispute duplicate checks per account and minute
    max_sessions_per_account: int = 3  # concurrent sessions; the oldest ends when a new one opens
    secure_cookie: bool = False  # set True behind HTTPS (intranet browsers); the local window is plain http
    cookie_name: str = "pingan_session"
    totp_issuer: str = "平安一张图"
    secret_key: str = field(default_factory=lambda: os.environ.get("PINGAN_SECRET_KEY") or secrets.token_hex(32))
    api_prefixes: tuple[str, ...] = ("/api/",)
    public_paths: tuple[str, ...] = ()  # extra unauthenticated paths (exact match); keep empty
    tile_sources: tuple[str, ...] = ()  # intranet tile / WMS origins allowed by the CSP (img-src, connect-src)
    media_sources: tuple[str, ...] = ()  # video gateway origins allowed by the CSP (media-src, connect-src)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_env(cls, env=None, **overrides) -> Settings:
        """PINGAN_SECURE_COOKIE=1 behind HTTPS; PINGAN_SECRET_KEY; PINGAN_TILE_SOURCES (space-separated origins)."""
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("PINGAN_SECURE_COOKIE", "").lower() in ("1", "true", "yes"):
            values["secure_cookie"] = True
        if env.get("PINGAN_SECRET_KEY"):
            values["secret_key"] = env["PINGAN_SECRET_KEY"]
        if env.get("PINGAN_TILE_SOURCES"):
            values["tile_sources"] = tuple(env["PINGAN_TILE_SOURCES"].split())
        return replace(cls(**values), **overrides)

    def with_overrides(self, values: dict[str, str]) -> Settings:
        """Apply stored overrides, ignoring unknown keys and out-of-bound values."""
        changes = {}
        for key, raw in values.items():
            if key in TUNABLE:
                try:
                    changes[key] = validate_setting(key, raw)
                except ValueError:
                    continue
        return replace(self, **changes) if changes else self


# key: (type, min, max, label). Bounds keep each setting at or above the policy.
TUNABLE: dict[str, tuple[type, float, float, str]] = {
    "password_min_length": (int, 8, 64, "密码最小长度"),
    "password_max_age_days": (int, 1, 180, "密码有效期（天）"),
    "lock_threshold": (int, 3, 5, "连续失败锁定次数"),
    "lock_minutes": (int, 30, 24 * 60, "锁定时长（分钟）"),
    "idle_minutes": (int, 5, 30, "空闲超时（分钟）"),
    "session_max_hours": (int, 1, 24, "会话最长时间（小时）"),
    "login_rate_per_minute": (float, 1, 30, "每IP每分钟登录次数"),
}


def validate_setting(key: str, raw) -> int | float:
    if key not in TUNABLE:
        raise ValueError(f"不可配置的项目: {key}")
    kind, low, high, label = TUNABLE[key]
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{label}: 值无效") from None
    if not (low <= value <= high):
        raise ValueError(f"{label}: 须在 {low:g} 与 {high:g} 之间")
    return value
