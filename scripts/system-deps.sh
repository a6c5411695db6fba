#!/usr/bin/env bash
# Debian packages the console and its test suite need (docs/setup.md). Installs only what is missing, so a
# second run costs a few dpkg look-ups. As root directly, otherwise through sudo; with neither, one sentence
# naming the exact command, and exit 1.
#   scripts/system-deps.sh            runtime + test packages
#   scripts/system-deps.sh --check    print what is missing, install nothing (exit 1 when something is)
set -euo pipefail

PACKAGES=(
  # headless browser tests and screenshots
  chromium chromium-driver chromium-l10n fonts-noto-cjk
  # the desktop window (pywebview, Qt) under a virtual display
  xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1
  libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2
  # the PostgreSQL path (tests start a throwaway cluster)
  postgresql postgresql-15-postgis-3  # PostGIS: native geometry (docs/postgresql.md)
  # the video tests: a local HLS stream (ffmpeg encodes, nginx serves; docs/video.md)
  nginx-light ffmpeg
)

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query: "install ok installed" only for a package that is really there (not config-files/removed)
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | cut -c1-2)" != "ii" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing Debian packages: ${missing[*]}"
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "系统缺少软件包（${missing[*]}），且本机没有 apt-get：请用本系统的包管理器安装它们后重试。" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "缺少系统软件包，需要管理员权限安装，请运行：sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "安装缺少的系统软件包：${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
