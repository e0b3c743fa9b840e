#!/usr/bin/env bash
# Schema-driven fuzzing: schemathesis (PyPI) against the running
# local stack, from `infra/openapi.yaml` as the gateway serves it, with a valid
# token per role. Bounded: a fixed number of examples per operation and a time
# budget per role. Every check schemathesis has, on valid and invalid data
# alike: fails on any 5xx, any status or body the description does not list,
# invalid data accepted, valid data refused, an operation that answers
# without its token. Two checks are left out: they want 405 for a method an
# operation does not have, and API Gateway (which the local gateway mirrors)
# answers 404 to a route it does not know. infra/schemathesis.toml says
# what else the description cannot express. Runs on its own ports, so `make run` can stay up.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export LOCAL_API_PORT="${FUZZ_API_PORT:-3300}" DDB_PORT="${FUZZ_DDB_PORT:-8300}" \
  MOTO_PORT="${FUZZ_MOTO_PORT:-4310}" SANDBOX_PORT="${FUZZ_SANDBOX_PORT:-4320}"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE WHATSAPP_API_BASE_URL TABLE_NAME
# shellcheck source=env.sh
. infra/scripts/env.sh
SCHEMATHESIS_VERSION=4.32.5
venv=.local/fuzz-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "installing schemathesis==${SCHEMATHESIS_VERSION} (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi
# shellcheck source=own-stack.sh
. infra/scripts/own-stack.sh fuzz
status=0
passed=0
failed=0
out="$(mktemp)"
trap 'rm -f "$out"; own_stack_stop' EXIT
run_role() {
  "$venv/bin/schemathesis" --config-file infra/schemathesis.toml run "$api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks all --mode all --exclude-checks unsupported_method,allow_header_conformance \
    --max-examples "${FUZZ_EXAMPLES:-25}" --max-time "${FUZZ_SECONDS:-60}" \
    --seed "${FUZZ_SEED:-20261123}" --workers "${1:-2}" --request-timeout 20 \
    --suppress-health-check all --no-color 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}
# A run whose every case passed but whose tool crashed (schemathesis reports a
# "Runtime Error" of its own, e.g. CPython 3.11's sporadic "AST constructor
# recursion depth mismatch" while hypothesis parses its own source) says
# nothing about the API: that role runs again, with one worker, at most twice
# more. A failed case never gets a second chance.
only_the_tool_crashed() {
  grep -q 'Runtime Error' "$out" \
    && grep -qE '^[[:space:]]*[0-9]+ generated, [0-9]+ passed(, [0-9]+ skipped)?[[:space:]]*$' "$out"
}
for role in agent supervisor admin; do
  agent="$role-1"
  [ "$role" = agent ] && agent=agent-1
  token="$("$cli" token --tenant demo --agent "$agent" --role "$role")"
  echo "schemathesis as $role"
  workers=2
  for attempt in 1 2 3; do
    if run_role "$workers"; then
      passed=$((passed + 1))
      break
    elif [ "$attempt" -lt 3 ] && only_the_tool_crashed; then
      echo "schemathesis crashed with every case passed; running as $role again, one worker"
      workers=1
    else
      status=1
      failed=$((failed + 1))
      break
    fi
  done
done
echo "fuzz: ${passed} passed, ${failed} failed"
exit "$status"
