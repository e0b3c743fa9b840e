#!/usr/bin/env bash
# `make run`: installs what is missing, starts DynamoDB Local, moto
# (EventBridge and Cognito), the WhatsApp sandbox and the local API gateway
# on loopback, creates the table, the bus and the local user pool, seeds the
# demo tenant (its business account granted), and stops everything it started
# on Ctrl-C. `bash infra/scripts/admin.sh <args>` runs the operator's tool
# against it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=env.sh
. infra/scripts/env.sh
bash infra/scripts/deps.sh
echo "building the local gateway (cargo, first time takes a few minutes)"
cargo build --quiet -p afterhours-local -p afterhours-admin
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
# The local user pool (moto's Cognito), shaped like the template's.
"$CARGO_TARGET_DIR/debug/afterhours-admin" local-pool >/dev/null
"$CARGO_TARGET_DIR/debug/afterhours-local" run &
gw=$!
wait "$gw"
