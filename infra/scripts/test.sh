#!/usr/bin/env bash
# `make test`: format and lint checks, then every test, with DynamoDB Local and
# the moto server started on their own ports (so `make run` can stay up) and
# stopped at the end, then the desk page's browser tests (infra/scripts/browser.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DDB_PORT="${TEST_DDB_PORT:-8100}" MOTO_PORT="${TEST_MOTO_PORT:-4110}"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE
# shellcheck source=env.sh
. infra/scripts/env.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# No import circle, no file over 600 lines, no function over 60 (docs/architecture.md).
python3 infra/scripts/structure.py
bash infra/scripts/deps.sh
trap 'bash infra/scripts/services.sh stop' EXIT
bash infra/scripts/services.sh start
log="$(mktemp)"
set +e
cargo test --workspace -- --test-threads "${TEST_THREADS:-4}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
[ "$status" -eq 0 ] || exit "$status"
# The desk page in headless Chromium (Debian's), against its own local stack.
bash infra/scripts/browser.sh
