#!/usr/bin/env bash
# Browser tests of the desk page (SPEC §12): Chromium from Debian's packages,
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
bash infra/scripts/deps.sh
cargo build --quiet -p afterhours-local
cli="$CARGO_TARGET_DIR/debug/afterhours-local"
mkdir -p .local/logs
cleanup() {
  set +e
  [ -n "${gw:-}" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null
  bash infra/scripts/services.sh stop
}
trap cleanup EXIT
bash infra/scripts/services.sh start
"$cli" run >.local/logs/browser-stack.log 2>&1 &
gw=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:${LOCAL_API_PORT}/openapi.json" >/dev/null 2>&1 && break
  kill -0 "$gw" 2>/dev/null || { cat .local/logs/browser-stack.log; exit 1; }
  sleep 0.2
done
export AFTERHOURS_CLI="$cli"
PLAYWRIGHT_BROWSERS_PATH=0 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/browser "$@"
