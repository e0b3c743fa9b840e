#!/usr/bin/env bash
# `make test`: format and lint checks, then every test, with DynamoDB Local and
# the moto server started on their own ports (so `make run` can stay up) and
# stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DDB_PORT="${TEST_DDB_PORT:-8100}" MOTO_PORT="${TEST_MOTO_PORT:-4110}"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE
# shellcheck source=env.sh
. infra/scripts/env.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
bash infra/scripts/deps.sh
trap 'bash infra/scripts/services.sh stop' EXIT
bash infra/scripts/services.sh start
cargo test --workspace -- --test-threads "${TEST_THREADS:-4}"
