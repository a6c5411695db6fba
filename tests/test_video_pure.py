"""Video, without a browser or a database: gateway settings, signed play addresses, codec detection and the
nearest cameras (docs/video.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from console.video import codecs, gateway, nearest, tokens
from console.video.gateway import VideoSettings

SECRET = b"k" * 32
DEVICE = "61092400001320000001"


# -- gateway settings ---------------------------------------------------------------------------------
def test_zlm_preset_builds_zlmediakit_addresses():
    v = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "zlm", "PINGAN_VIDEO_BASE": "http://10.8.0.5:8080/"})
    assert v.problem == "" and v.configured
    assert gateway.play_address(v, 7, DEVICE, "hls") == f"http://10.8.0.5:8080/rtp/{DEVICE}_{DEVICE}/hls.m3u8"
    assert gateway.play_address(v, 7, DEVICE, "flv") == f"http://10.8.0.5:8080/rtp/{DEVICE}_{DEVICE}.live.flv"
    assert gateway.play_address(v, 7, DEVICE, "h264") == ""  # no transcoding template set
    assert v.origins() == ("http://10.8.0.5:8080",)


@pytest.mark.parametrize("env, words", [
    ({"PINGAN_VIDEO_GATEWAY": "zlm"}, "PINGAN_VIDEO_BASE"),
    ({"PINGAN_VIDEO_GATEWAY": "hik"}, "PINGAN_VIDEO_GATEWAY"),
    ({"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_HLS": "http://gw/{channel}/hls.m3u8"}, "{channel}"),
    ({"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_HLS": "http://gw/{device_id/hls.m3u8"}, "花括号"),
    ({"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_HLS": "ftp://gw/{device_id}.m3u8"}, "PINGAN_VIDEO_HLS"),
    ({"PINGAN_VIDEO_GATEWAY": "template"}, "PINGAN_VIDEO_HLS"),
    ({"PINGAN_VIDEO_GATEWAY": "zlm", "PINGAN_VIDEO_BASE": "http://gw", "PINGAN_VIDEO_MAX_STREAMS": "500"},
     "PINGAN_VIDEO_MAX_STREAMS"),
])
def test_a_misconfigured_gateway_is_reported_in_chinese_not_raised(env, words):
    v = VideoSettings.from_env(env)
    assert not v.configured
    assert v.problem.startswith("视频网关配置错误") and words in v.problem


def test_per_camera_addresses_override_the_template_and_carry_codec(tmp_path):
    table = tmp_path / "cams.csv"
    table.write_text("device_id,hls,h264,codec,parent_id\n"
                     f"{DEVICE},http://cam1.local/live.m3u8,http://gw/transcode/1.m3u8,H.265,\n"
                     "61092400001320000002,,,h264,34020000001110000001\n", encoding="utf-8-sig")
    v = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "zlm", "PINGAN_VIDEO_BASE": "http://gw",
                                "PINGAN_VIDEO_URLS": str(table)})
    assert v.problem == ""
    assert gateway.variants_of(v, 1, DEVICE) == {"hls": "http://cam1.local/live.m3u8",
                                                  "flv": f"http://gw/rtp/{DEVICE}_{DEVICE}.live.flv",
                                                  "h264": "http://gw/transcode/1.m3u8"}
    assert v.addresses[DEVICE].codec == "h265"
    # the NVR's id from the list names the ZLMediaKit stream of a channel behind it
    assert gateway.play_address(v, 2, "61092400001320000002", "hls") == \
        "http://gw/rtp/34020000001110000001_61092400001320000002/hls.m3u8"
    assert set(v.origins()) == {"http://gw", "http://cam1.local"}


@pytest.mark.parametrize("text, words", [
    ("name,hls\nx,http://a/b.m3u8\n", "device_id 列"),
    ("device_id,hls\n,http://a/b.m3u8\n", "第 2 行"),
    (f"device_id,codec\n{DEVICE},mpeg2\n", "第 2 行 codec"),
    (f"device_id,hls\n{DEVICE},javascript:alert(1)\n", "第 2 行 hls"),
])
def test_a_bad_address_list_names_the_line(tmp_path, text, words):
    table = tmp_path / "cams.csv"
    table.write_text(text, encoding="utf-8")
    v = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_URLS": str(table)})
    assert words in v.problem and not v.configured and v.addresses == {}


def test_an_unreadable_address_list_is_a_problem_not_a_crash(tmp_path):
    table = tmp_path / "cams.csv"
    table.write_bytes(b"\xff\xfe\x00garbage")
    v = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_URLS": str(table)})
    assert "无法读取" in v.problem
    assert "无法读取" in VideoSettings.from_env({"PINGAN_VIDEO_URLS": str(tmp_path / "missing.csv")}).problem


# -- signed play addresses ----------------------------------------------------------------------------
def test_a_token_round_trips_within_its_lifetime_only():
    t = tokens.sign(SECRET, 42, "hls", "duty1", now=1000.0, ttl=60)
    assert tokens.verify(SECRET, t, "duty1", now=1059.0) == tokens.PlayToken(42, "hls", 1060)
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, t, "duty1", now=1060.0)
    assert exc.value.reason == "expired" and "过期" in str(exc.value)


@pytest.mark.parametrize("change", [
    lambda t: t.replace("42.", "43.", 1),                           # another camera
    lambda t: t.replace(".hls.", ".flv."),                          # another variant
    lambda t: t.replace(".1060.", ".99999."),                       # a longer life
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),    # a forged signature
])
def test_a_changed_token_is_refused(change):
    t = tokens.sign(SECRET, 42, "hls", "duty1", now=1000.0, ttl=60)
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, change(t), "duty1", now=1001.0)
    assert exc.value.reason == "signature"


def test_a_token_is_bound_to_its_account_and_secret():
    t = tokens.sign(SECRET, 42, "hls", "duty1", now=1000.0, ttl=60)
    for secret, account in ((SECRET, "duty2"), (b"other", "duty1")):
        with pytest.raises(tokens.TokenError):
            tokens.verify(secret, t, account, now=1001.0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_refused_with_a_token_error_only(text):
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, text, "duty1", now=0)
    assert exc.value.reason in ("malformed", "signature", "expired")


# -- codecs -------------------------------------------------------------------------------------------
MASTER_H265 = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1920x1080,CODECS="hvc1.1.6.L120.90,mp4a.40.2"
main/hls.m3u8
"""
MASTER_H264 = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001f,mp4a.40.2"\nsub.m3u8\n'


def test_codec_from_the_playlist_and_from_zlmediakit():
    assert codecs.playlist_video_codec(MASTER_H265) == "h265"
    assert codecs.playlist_video_codec(MASTER_H264) == "h264"
    assert codecs.playlist_video_codec(MASTER_H264 + MASTER_H265.split("\n", 1)[1]) == "h265"  # any H.265 variant
    assert codecs.playlist_video_codec("#EXTM3U\n#EXTINF:1.0,\nseg0.ts\n") == ""
    info = {"tracks": [{"codec_type": 1, "codec_id_name": "mpeg4-generic"}, {"codec_type": 0, "codec_id_name": "H265"}]}
    assert codecs.media_info_video_codec(info) == "h265"
    assert codecs.media_info_video_codec({"code": -500}) == "" and codecs.media_info_video_codec("x") == ""


# -- nearest cameras ----------------------------------------------------------------------------------
def test_nearest_prefers_a_camera_looking_at_the_alert():
    lon, lat = 109.0, 32.7
    # camera 0: 100 m east, looking west at the alert (bullet); camera 1: 60 m west looking west (away);
    # camera 2: 300 m north, a dome; camera 3: 50 m south but offline
    lons = np.array([lon + 100 / 93_600, lon - 60 / 93_600, lon, lon])
    lats = np.array([lat, lat, lat + 300 / 111_195, lat - 50 / 111_195])
    directions = np.array([270.0, 270.0, 0.0, 0.0])
    fovs = np.array([60.0, 60.0, 360.0, 60.0])
    usable = np.array([True, True, True, False])
    idx, dist, faces = nearest.nearest(lon, lat, lons, lats, directions, fovs, usable, n=3)
    assert idx.tolist() == [0, 1, 2]  # 60 m looking away counts as 120 m, after the 100 m that looks
    assert faces.tolist() == [True, False, True]
    assert dist[0] == pytest.approx(100, rel=0.02)


def _brute(lon, lat, lons, lats, usable, n, max_m):
    out = []
    for i in range(len(lons)):
        if not usable[i]:
            continue
        p1, p2 = math.radians(lat), math.radians(lats[i])
        a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lons[i] - lon) / 2) ** 2
        d = 2 * nearest.EARTH_M * math.asin(math.sqrt(a))
        if d <= max_m:
            out.append((d, i))
    return [i for _, i in sorted(out)[:n]]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 20))
def test_nearest_matches_a_plain_loop_for_domes(seed, n):
    rng = np.random.default_rng(seed)
    lons = 109 + rng.uniform(-0.05, 0.05, 300)
    lats = 32.7 + rng.uniform(-0.05, 0.05, 300)
    usable = rng.random(300) > 0.3
    fovs = np.full(300, 360.0)
    idx, dist, _ = nearest.nearest(109.0, 32.7, lons, lats, np.zeros(300), fovs, usable, n, max_m=4000)
    assert idx.tolist() == _brute(109.0, 32.7, lons, lats, usable, n, 4000)
    assert np.all(np.diff(dist) >= 0)


def test_nearest_with_nothing_usable_is_empty():
    idx, dist, faces = nearest.nearest(109, 32, np.array([109.0]), np.array([32.0]), np.zeros(1), np.full(1, 60.0),
                                       np.array([False]), 9)
    assert idx.size == 0 and dist.size == 0 and faces.size == 0
