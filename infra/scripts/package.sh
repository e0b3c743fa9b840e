#!/usr/bin/env bash
# `make package`: every function built for Lambda's arm64 with
# `cargo lambda build --release --arm64` (cargo-lambda and zig from PyPI, in
# the project's .venv), then each bootstrap's size against the 7 MiB budget
# (CI fails when one is over).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
: "${CARGO_TARGET_DIR:=${HOME}/.cache/afterhours-target}"
export CARGO_TARGET_DIR
CARGO_LAMBDA_VERSION=1.9.2
ZIG_VERSION=0.17.1
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/cargo-lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  echo "installing cargo-lambda==$CARGO_LAMBDA_VERSION and ziglang==$ZIG_VERSION (PyPI) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION"
fi
rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
export PATH="$root/.venv/bin:$PATH"
functions=(webhook contacts send settings report)
args=()
for f in "${functions[@]}"; do args+=(--bin "$f"); done
cargo lambda build --release --arm64 "${args[@]}"
limit=$((7 * 1024 * 1024))
status=0
printf '%-10s %12s\n' function bytes
for f in "${functions[@]}"; do
  bin="$CARGO_TARGET_DIR/lambda/$f/bootstrap"
  size=$(stat -c %s "$bin")
  printf '%-10s %12d  %s\n' "$f" "$size" "$(file -b "$bin" 2>/dev/null | cut -d, -f1-2)"
  [ "$size" -le "$limit" ] || { echo "  $f is over the 7 MiB budget" >&2; status=1; }
done
exit $status
