#!/bin/sh
# Install Debian's Chromium for the dashboard's browser test (tests/test_app_browser.py), if missing.
# Idempotent and quiet: does nothing when /usr/bin/chromium exists. Playwright drives this binary
# (its own browser downloads are not used). Needs root or sudo and apt-get.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: apt-get not found; install Chromium at /usr/bin/chromium by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
