# Sourced by fuzz.sh and browser.sh: starts the whole local stack (DynamoDB
# Local, moto, the sandbox and the gateway) on the ports the caller exported,
# waits until the API answers, and stops everything when the caller exits.
# Sets `cli` (the dev CLI) and `api` (the gateway's URL).
# Usage: . infra/scripts/own-stack.sh <name of the log in .local/logs>
bash infra/scripts/deps.sh
cargo build --quiet -p afterhours-local
cli="$CARGO_TARGET_DIR/debug/afterhours-local"
api="http://127.0.0.1:${LOCAL_API_PORT}"
mkdir -p .local/logs
stack_log=".local/logs/$1-stack.log"
own_stack_stop() {
  set +e
  [ -n "${gw:-}" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null
  bash infra/scripts/services.sh stop
}
trap own_stack_stop EXIT
bash infra/scripts/services.sh start
"$cli" run >"$stack_log" 2>&1 &
gw=$!
for _ in $(seq 1 150); do
  curl -fsS "$api/openapi.json" >/dev/null 2>&1 && break
  kill -0 "$gw" 2>/dev/null || { cat "$stack_log"; exit 1; }
  sleep 0.2
done
