#!/usr/bin/env bash
# `make run`: installs what is missing, starts DynamoDB Local, the moto
# EventBridge server, the WhatsApp sandbox and the local API gateway on
# loopback, creates the table and the bus, seeds the demo tenant, and stops
# everything it started on Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=env.sh
. infra/scripts/env.sh
bash infra/scripts/deps.sh
echo "building the local gateway (cargo, first time takes a few minutes)"
cargo build --quiet -p afterhours-local
cleanup() {
  trap - INT TERM EXIT
  set +e   # stop everything, whatever the gateway's exit status was
  if [ -n "${gw:-}" ]; then
    kill "$gw" 2>/dev/null
    wait "$gw" 2>/dev/null
  fi
  bash infra/scripts/services.sh stop
}
trap cleanup INT TERM EXIT
bash infra/scripts/services.sh start
"$CARGO_TARGET_DIR/debug/afterhours-local" run &
gw=$!
wait "$gw"
