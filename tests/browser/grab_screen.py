"""Grab the X screen (DISPLAY) to a PNG with Qt and print simple statistics as JSON (for the window test)."""

import json
import sys

from PyQt6.QtGui import QGuiApplication


def main(path: str) -> None:
    app = QGuiApplication(sys.argv[:1])
    img = app.primaryScreen().grabWindow(0).toImage()
    img.save(path, "PNG")
    colours, header, blueish, outline = set(), 0, 0, 0
    step = 3
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            c = img.pixelColor(x, y)
            rgb = (c.red(), c.green(), c.blue())
            colours.add(rgb)
            if abs(rgb[0] - 0x12) < 12 and abs(rgb[1] - 0x31) < 12 and abs(rgb[2] - 0x5F) < 12:
                header += 1
            if rgb[2] > rgb[0] + 30 and rgb[2] > 150:
                blueish += 1
            if abs(rgb[0] - 0xC0) < 30 and abs(rgb[1] - 0x56) < 30 and abs(rgb[2] - 0x21) < 30:
                outline += 1  # the city outline drawn by the offline basemap
    print(json.dumps({"width": img.width(), "height": img.height(), "colours": len(colours),
                      "header_pixels": header, "blue_pixels": blueish, "outline_pixels": outline}))


if __name__ == "__main__":
    main(sys.argv[1])
