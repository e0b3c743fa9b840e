#!/usr/bin/env bash
# `make bench`: the performance budget, measured (never asserted
# in tests). Native release binaries, cold-started under a Lambda Runtime API
# emulator against DynamoDB Local and moto on their own ports.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DDB_PORT="${BENCH_DDB_PORT:-8200}" MOTO_PORT="${BENCH_MOTO_PORT:-4210}"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE
# shellcheck source=env.sh
. infra/scripts/env.sh
bash infra/scripts/deps.sh
cargo build --quiet --release -p webhook -p contacts -p send -p settings -p report
cargo build --quiet -p afterhours-local
trap 'bash infra/scripts/services.sh stop' EXIT
bash infra/scripts/services.sh start
"$CARGO_TARGET_DIR/debug/afterhours-local" setup
"$CARGO_TARGET_DIR/debug/afterhours-local" bench --dir "$CARGO_TARGET_DIR/release" --runs "${RUNS:-10}"
"$CARGO_TARGET_DIR/debug/afterhours-local" report-bench --tenants "${REPORT_TENANTS:-3000}" | grep -v '"_aws"'
# DynamoDB capacity and cost per operation; webhook bursts with WhatsApp at 300 ms.
"$CARGO_TARGET_DIR/debug/afterhours-local" load-bench --runs "${BURST_RUNS:-5}" | grep -v '"_aws"'
