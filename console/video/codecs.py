"""Which video codec a stream carries, from what the gateway says or from the HLS playlist.

Browsers decode H.264 through Media Source Extensions; most (headless Chromium among them) cannot decode
H.265/HEVC. A window that finds H.265 says so and offers the gateway's transcoded H.264 stream.
"""

from __future__ import annotations

import re

_CODECS = re.compile(r'CODECS="([^"]*)"', re.IGNORECASE)
_H265 = ("hvc1", "hev1", "h265", "hevc")
_H264 = ("avc1", "avc3", "h264", "avc")


def classify(codec: str) -> str:
    """"h264", "h265" or "" (unknown) for one codec string: an RFC 6381 name (avc1.64001f, hvc1.1.6.L93.B0)
    or a gateway's name (ZLMediaKit's codec_id_name "H264" / "H265")."""
    c = (codec or "").strip().lower()
    if c.startswith(_H265):
        return "h265"
    if c.startswith(_H264):
        return "h264"
    return ""


def playlist_video_codec(text: str) -> str:
    """The video codec a master playlist declares in its CODECS attributes ("" when it declares none).

    H.265 wins when any variant declares it (the browser would pick it and fail)."""
    found = {classify(c) for attr in _CODECS.findall(text or "") for c in attr.split(",")}
    return "h265" if "h265" in found else "h264" if "h264" in found else ""


def media_info_video_codec(info: dict) -> str:
    """The video codec from ZLMediaKit's getMediaInfo answer ({"tracks": [{"codec_type": 0, "codec_id_name":
    "H265"}, ...]}; codec_type 0 is video). "" when the answer has no video track."""
    tracks = info.get("tracks") if isinstance(info, dict) else None
    for t in tracks if isinstance(tracks, list) else []:
        if isinstance(t, dict) and t.get("codec_type") == 0:
            return classify(str(t.get("codec_id_name", "")))
    return ""
