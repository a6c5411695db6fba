"""Masking of personal data for display (docs/domain.md §7: first 6 + last 4 of an identity number)."""

from __future__ import annotations


def mask_id(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张三丰 → 张**; used where a name is shown to roles that do not need it."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


def mask_address(value: str | None, keep: int = 8) -> str:
    """Keep the administrative part (town, village), hide the house number."""
    if not value:
        return ""
    if len(value) <= keep:
        return value
    return value[:keep] + "****"
