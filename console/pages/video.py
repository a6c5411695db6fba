"""视频: the video wall. 1/4/9/16 windows, cameras by search, 「附近摄像机」 for an alert, tours, snapshots.

The page is a frame; `assets/pingan_video.js` runs the wall: it asks /api/video/* (console/routes/video.py) for
play tickets and plays them with the vendored hls.js / mpegts.js, detects stalls and reconnects, keeps to the
console's cap on concurrent streams and says in each window why a camera does not play (docs/video.md).
Permission: `view:video`, declared for /video and /api/video by the routes module and checked by the gate.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from console.routes.video import platform_client, video_settings
from console.security.permissions import VIDEO_PTZ
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.video import service

dash.register_page(__name__, path="/video", title="平安一张图 · 视频", name="视频")

LAYOUTS = (1, 4, 9, 16)
TOUR_SECONDS = (10, 20, 30, 60)


class ID:
    WALL = "video-wall"
    STATUS = "video-status"
    ALERT = "video-alert"
    NEARBY = "video-nearby"
    SEARCH = "video-search"
    SEARCH_BTN = "video-search-btn"
    RESULTS = "video-results"
    TOUR = "video-tour"
    TOUR_SECONDS = "video-tour-seconds"
    STOP_ALL = "video-stop-all"
    PB_START = "video-pb-start"  # playback range of the selected window (assets/pingan_video_ctl.js)
    PB_END = "video-pb-end"
    PB_GO = "video-pb-go"
    PB_LIVE = "video-pb-live"
    LAYOUT = "video-layout"  # the buttons: video-layout-1, -4, -9, -16


def _playback(enabled: bool) -> html.Fieldset:
    """录像回放 of the selected window: a date-time range → the platform's playback address (docs/video.md)."""
    hint = "选中窗口，选择时间段（最长 24 小时）" if enabled else "未配置视频平台接口，不能回放"
    return html.Fieldset(className="pa-video-pb", disabled=not enabled, children=[
        html.Legend("录像回放"),
        html.Label(["从 ", dcc.Input(id=ID.PB_START, type="datetime-local", className="pa-video-dt")]),
        html.Label(["至 ", dcc.Input(id=ID.PB_END, type="datetime-local", className="pa-video-dt")]),
        html.Div([html.Button("回放所选窗口", id=ID.PB_GO, className="pa-btn"),
                  html.Button("返回实时", id=ID.PB_LIVE, className="pa-btn")], className="pa-video-pb-row"),
        html.Small(hint, className="pa-video-pb-hint"),
    ])


def _toolbar(alerts: list[dict], alert_id: str, platform: bool) -> html.Div:
    return html.Div(className="pa-video-bar", children=[
        html.H2("视频", className="pa-heading"),
        html.Div([html.Button(f"{n} 画面", id=f"{ID.LAYOUT}-{n}", className="pa-btn pa-video-layout",
                              **{"data-layout": str(n)}) for n in LAYOUTS], className="pa-video-layouts"),
        html.Select(id=ID.ALERT, className="pa-video-select", children=[
            html.Option("选择预警…", value=""),
            *[html.Option(f"{a['raised_at']} {a['title']}", value=str(a["id"]), selected=str(a["id"]) == alert_id)
              for a in alerts]]),
        html.Button("附近摄像机", id=ID.NEARBY, className="pa-btn pa-primary"),
        html.Div(className="pa-video-search", children=[
            html.Div([
                dcc.Input(id=ID.SEARCH, type="search", placeholder="摄像机名称或设备编码", className="pa-duty-input"),
                html.Button("查找", id=ID.SEARCH_BTN, className="pa-btn")], className="pa-video-search-row"),
            html.Ul(id=ID.RESULTS, className="pa-video-results", role="listbox"),
        ]),
        html.Label(["轮巡间隔 ", html.Select(id=ID.TOUR_SECONDS, children=[
            html.Option(f"{t} 秒", value=str(t), selected=t == 20) for t in TOUR_SECONDS])],
            className="pa-video-tour-label"),
        html.Button("开始轮巡", id=ID.TOUR, className="pa-btn"),
        html.Button("全部关闭", id=ID.STOP_ALL, className="pa-btn"),
        _playback(platform),
        html.Span(id=ID.STATUS, className="pa-video-status", role="status"),
    ])


def layout(alert: str = "", layout: str = "", **_query) -> html.Div:  # layout: windows (incident wall link)
    viewer = current_viewer()
    v = video_settings()
    with current_context().session() as s:
        alerts = service.open_alerts(s, viewer)
    alert_id = alert if alert.isdigit() else ""
    if alert_id and alert_id not in {str(a["id"]) for a in alerts}:
        alerts.insert(0, {"id": int(alert_id), "title": f"预警 {alert_id}", "raised_at": ""})
    platform = platform_client() is not None
    notice = v.problem or ("" if v.configured else "未配置视频网关：窗口将说明原因；请系统管理员在部署设置中配置视频网关。")
    return html.Div(className="pa-video", children=[
        _toolbar(alerts, alert_id, platform),
        html.Div(notice, className="pa-video-notice", role="alert") if notice else None,
        html.Div(id=ID.WALL, className="pa-video-wall", **{
            "data-max-streams": str(v.max_streams), "data-stall-seconds": str(v.stall_seconds),
            "data-ptz": "1" if platform and viewer.can(VIDEO_PTZ) else "0",
            "data-layout": layout if layout in {str(n) for n in LAYOUTS} else "4", "data-alert": alert_id}),
    ])
