"""Offline: no file the console serves from assets/ names an internet address a browser could fetch."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.vendoring import offline_plotly, offline_problems

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SERVED = sorted(p for p in ASSETS.rglob("*") if p.suffix in {".js", ".css", ".html", ".json"})


@pytest.mark.parametrize("path", SERVED, ids=lambda p: str(p.relative_to(ASSETS)))
def test_served_asset_points_at_no_internet_host(path):
    assert offline_problems(path.read_text(encoding="utf-8", errors="replace")) == []


def test_vendored_plotly_is_the_offline_rewrite():
    text = (ASSETS / "vendor" / "plotly-basic.min.js").read_text(encoding="utf-8")
    assert offline_plotly(text) == text          # every rewrite already applied: re-vendoring is reproducible
    assert 'dflt:"assets/vendor/topojson/"' in text


def test_the_check_catches_an_address_and_spares_namespaces():
    sample = 'a="https://cdn.plot.ly/un/";b=document.createElementNS("http://www.w3.org/2000/svg","g")'
    assert offline_problems(sample) == ["https://cdn.plot.ly/un/"]


def test_the_rewrite_localises_topojson_and_unlinks_the_rest():
    sample = ('topojsonURL:{valType:"string",noBlank:!0,dflt:"https://cdn.plot.ly/un/"};r.href="https://plotly.com/";'
              'e=createElementNS("http://www.w3.org/2000/svg","g")')
    out = offline_plotly(sample)
    assert 'dflt:"assets/vendor/topojson/"' in out and 'r.href="plotly.com/"' in out
    assert "http://www.w3.org/2000/svg" in out and offline_problems(out) == []
    assert offline_plotly(out) == out
