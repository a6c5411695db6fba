"""Short-lived signed play addresses (docs/video.md "Play addresses").

A token is ``<camera id>.<variant>.<expiry, unix seconds>.<signature>``; the signature is HMAC-SHA256 with the
server's secret over the camera, the variant, the expiry and the account it was issued to, so a copied
address neither outlives its minute nor works for another account. Pure functions; the clock is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from .gateway import VARIANTS


class TokenError(ValueError):
    """`reason` is "malformed", "signature" or "expired"; `str()` is the Chinese message for the window."""

    MESSAGES = {"malformed": "播放地址格式错误", "signature": "播放地址签名无效（可能被改动或属于其他账户）",
                "expired": "播放地址已过期，请重新打开"}

    def __init__(self, reason: str):
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class PlayToken:
    camera_id: int
    variant: str
    expires: int


def _sig(secret: bytes, camera_id: int, variant: str, expires: int, account: str) -> str:
    msg = f"{camera_id}|{variant}|{expires}|{account}".encode("utf-8")
    return base64.urlsafe_b64encode(hmac.new(secret, msg, hashlib.sha256).digest()).decode("ascii").rstrip("=")


def sign(secret: bytes, camera_id: int, variant: str, account: str, now: float, ttl: int) -> str:
    expires = int(now) + ttl
    return f"{camera_id}.{variant}.{expires}.{_sig(secret, camera_id, variant, expires, account)}"


def verify(secret: bytes, token: str, account: str, now: float) -> PlayToken:
    """The token's camera and variant, or TokenError. The signature is checked before the expiry, so an
    expired token is only called expired when it is genuine."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 200 else []
    if len(parts) != 4 or not parts[0].isdigit() or parts[1] not in VARIANTS or not parts[2].isdigit():
        raise TokenError("malformed")
    camera_id, variant, expires = int(parts[0]), parts[1], int(parts[2])
    if not hmac.compare_digest(parts[3], _sig(secret, camera_id, variant, expires, account)):
        raise TokenError("signature")
    if now >= expires:
        raise TokenError("expired")
    return PlayToken(camera_id, variant, expires)
