"""Write the duty page's alert tone (a short two-note chime) as a local WAV — no download.

    python -m console.duty.sound            # writes assets/sounds/alert.wav
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "assets" / "sounds" / "alert.wav"


def chime(rate: int = 22050) -> np.ndarray:
    parts = []
    for freq, dur in ((880.0, 0.18), (0.0, 0.05), (1318.5, 0.28)):
        t = np.arange(int(rate * dur)) / rate
        tone = np.sin(2 * np.pi * freq * t) * np.exp(-4 * t) if freq else np.zeros_like(t)
        parts.append(tone)
    sig = np.concatenate(parts)
    return (sig / max(1e-9, np.abs(sig).max()) * 0.6 * 32767).astype("<i2")


def write(path: Path = OUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(chime().tobytes())
    return path


if __name__ == "__main__":
    print(write())
