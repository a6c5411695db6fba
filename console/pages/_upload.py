"""What a dcc.Upload hands a callback, decoded once for every page that takes files."""

from __future__ import annotations

import base64
import binascii


def decode_upload(stored) -> tuple[bytes, str] | None:
    """{"contents": data URL, "name": file name} → (bytes, name); None for anything else (a forged value too)."""
    if not isinstance(stored, dict) or not isinstance(stored.get("contents"), str):
        return None
    try:
        return base64.b64decode(stored["contents"].split(",", 1)[-1], validate=True), str(stored.get("name") or "")
    except (binascii.Error, ValueError):
        return None
