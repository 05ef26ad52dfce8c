#!/usr/bin/env bash
# Installs Debian's headless Chromium for cmd/livechat/browser_test.go.
# The browser test fails in CI (CI set) when /usr/bin/chromium is missing, so
# the CI script calls this first; it does nothing when Chromium is present.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# fonts-noto-cjk and fonts-noto-color-emoji make Korean and emoji render in
# screenshots instead of empty boxes; the test's byte-exact checks do not need them.
$SUDO apt-get install -y --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji
/usr/bin/chromium --version
