#!/usr/bin/env bash
# The system programs the tests need, installed when missing: `npm test` runs this first
# (the `pretest` script) and so does .ci/run. As root with apt-get it installs them
# non-interactively; otherwise it names what is missing and how to install it, and fails
# before any test does (exit 1), rather than letting a test fail with a cryptic error.
#   socat     pseudo-terminals for the serial driver tests
#   chromium  the admin page in a real browser
#   ffmpeg    the camera source (V4L2/RTSP to raw frames)
#   fonts-noto-cjk  Chinese glyphs, so the public board's layout is measured as a wall screen shows it
#   mosquitto the broker the sync tests restart (harness/sync/mosquitto.ts runs one of its own)
# SYSTEM_PACKAGES_NO_INSTALL=1 only checks (never runs apt-get).
set -euo pipefail

need=()
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ -x "${MOSQUITTO_BIN:-/usr/sbin/mosquitto}" ] || need+=(mosquitto)
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; } || need+=(fonts-noto-cjk)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "${SYSTEM_PACKAGES_NO_INSTALL:-}" != "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "正在安装测试所需的系统软件包 / installing system packages the tests need: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
  exit 0
fi

{
  echo "缺少测试所需的系统软件包 / missing system packages the tests need: ${need[*]}"
  echo "请安装 / install them with: sudo apt-get install --no-install-recommends ${need[*]}"
  echo "(run as root, \`npm test\` installs them itself; .ci/run does the same)"
} >&2
exit 1
