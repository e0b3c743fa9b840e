#!/usr/bin/env bash
# `bash infra/scripts/admin.sh <args>`: the operator's tool, afterhours-admin,
# against the local stack that `make run` started (DynamoDB Local for the
# table, moto for Cognito), e.g.
#   bash infra/scripts/admin.sh account grant acme 123456789012345
#   bash infra/scripts/admin.sh tenant create acme --admin-email ana@acme.example
# Against AWS, run the binary itself with your AWS credentials and the
# stack's outputs (see the README).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# shellcheck source=env.sh
. infra/scripts/env.sh
cargo build --quiet -p afterhours-admin
bin="$CARGO_TARGET_DIR/debug/afterhours-admin"
if [ -z "${USER_POOL_ID:-}" ]; then
  # The pool `make run` created; found (or created) again if moto restarted.
  if pool="$("$bin" local-pool 2>/dev/null)"; then
    export USER_POOL_ID="$pool"
  fi
fi
exec "$bin" "$@"
