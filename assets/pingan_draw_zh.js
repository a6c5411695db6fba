/* 平安一张图 — the drawing tool (leaflet-draw, behind dash-leaflet's EditControl) in Chinese.
 *
 * leaflet-draw arrives in a lazy chunk that assigns its English texts to L.drawLocal when it loads; a setter
 * installed here lays the Chinese texts over whatever it assigns, so the toolbar, the tooltips while drawing
 * ("Click to continue drawing line") and the edit actions read Chinese from the first use. */
(function () {
    "use strict";

    const ZH = {
        draw: {
            toolbar: {
                actions: {title: "取消绘制", text: "取消"},
                finish: {title: "完成绘制", text: "完成"},
                undo: {title: "删除最后一个点", text: "删除最后一点"},
                buttons: {polyline: "画线", polygon: "画多边形", rectangle: "画矩形", circle: "画圆",
                    marker: "放置标记", circlemarker: "放置圆点"},
            },
            handlers: {
                circle: {tooltip: {start: "按住并拖动以画圆。"}, radius: "半径"},
                circlemarker: {tooltip: {start: "点击地图放置圆点。"}},
                marker: {tooltip: {start: "点击地图放置标记。"}},
                polygon: {tooltip: {start: "点击开始画多边形。", cont: "点击继续画多边形。",
                    end: "点击第一个点闭合多边形。"}},
                polyline: {error: "<strong>错误：</strong>边不能相交！",
                    tooltip: {start: "点击开始画线。", cont: "点击继续画线。", end: "点击最后一个点结束画线。"}},
                rectangle: {tooltip: {start: "按住并拖动以画矩形。"}},
                simpleshape: {tooltip: {end: "松开鼠标完成绘制。"}},
            },
        },
        edit: {
            toolbar: {
                actions: {save: {title: "保存修改", text: "保存"}, cancel: {title: "取消编辑，放弃全部修改", text: "取消"},
                    clearAll: {title: "清除全部图形", text: "全部清除"}},
                buttons: {edit: "编辑图形", editDisabled: "没有可编辑的图形", remove: "删除图形",
                    removeDisabled: "没有可删除的图形"},
            },
            handlers: {
                edit: {tooltip: {text: "拖动控制点或标记以编辑图形。", subtext: "点击“取消”撤销修改。"}},
                remove: {tooltip: {text: "点击要删除的图形。"}},
            },
        },
    };

    function overlay(target, source) {
        Object.keys(source).forEach(function (key) {
            const value = source[key];
            if (value && typeof value === "object") {
                if (!target[key] || typeof target[key] !== "object") { target[key] = {}; }
                overlay(target[key], value);
            } else {
                target[key] = value;
            }
        });
        return target;
    }

    function install(L) {
        if (!L) { return false; }
        if (L.__pinganDrawZh) { return true; }
        L.__pinganDrawZh = true;
        let local = overlay(L.drawLocal || {}, ZH);
        try {
            Object.defineProperty(L, "drawLocal", {configurable: true, enumerable: true,
                get: function () { return local; },
                set: function (v) { local = overlay(v || {}, ZH); }});
        } catch (e) {
            L.drawLocal = local;  // not redefinable: at least the texts known now
        }
        return true;
    }

    window.pingan.whenLeaflet(install);  // assets/pingan_boot.js
}());
