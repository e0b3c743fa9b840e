#!/usr/bin/env bash
# Browser tests of the desk page: Chromium from Debian's packages,
# driven by Playwright from PyPI (its own browser download is never used),
# against the local stack on its own ports, so `make run` can stay up. The
# tests write the README's screenshots to docs/screenshots/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export LOCAL_API_PORT="${BROWSER_API_PORT:-3500}" DDB_PORT="${BROWSER_DDB_PORT:-8500}" \
  MOTO_PORT="${BROWSER_MOTO_PORT:-4510}" SANDBOX_PORT="${BROWSER_SANDBOX_PORT:-4520}"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE WHATSAPP_API_BASE_URL TABLE_NAME
# shellcheck source=env.sh
. infra/scripts/env.sh
# The tests change settings and look at the result at once: no settings cache.
export RULES_CACHE_SECONDS=0
PLAYWRIGHT_VERSION=1.65.2
PYTEST_VERSION=8.3.4
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "installing Chromium (Debian's package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
venv=.local/browser-venv
if ! "$venv/bin/python" -c "import playwright, pytest" 2>/dev/null \
  || [ "$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("playwright"))')" != "$PLAYWRIGHT_VERSION" ]; then
  echo "installing playwright==${PLAYWRIGHT_VERSION} and pytest (PyPI) into $venv (no browser download)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "playwright==${PLAYWRIGHT_VERSION}" "pytest==${PYTEST_VERSION}"
fi
# shellcheck source=own-stack.sh
. infra/scripts/own-stack.sh browser
export AFTERHOURS_CLI="$cli"
PLAYWRIGHT_BROWSERS_PATH=0 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/browser "$@"
