#!/usr/bin/env bash
# `make lint-template`: cfn-lint with the serverless rules, `sam validate
# --lint`, then checkov, on template.yaml. Tools from PyPI: cfn-lint and sam
# into .venv, checkov into a virtual environment of its own (it pins boto3 to
# a version sam cannot use).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -x .venv/bin/cfn-lint ] || ! .venv/bin/python -c 'import cfn_lint_serverless' 2>/dev/null; then
  echo "installing cfn-lint and cfn-lint-serverless (PyPI) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "cfn-lint==1.58.0" "cfn-lint-serverless==0.3.6"
fi
.venv/bin/cfn-lint -t template.yaml -a cfn_lint_serverless.rules
echo "cfn-lint: clean (with the serverless rules)"
if [ ! -x .venv/bin/sam ]; then
  echo "installing aws-sam-cli (PyPI) into .venv"
  if ! .venv/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli==1.170.0"; then
    # In CI a template check that did not run is a failure, not a skip.
    if [ "${CI:-}" = "true" ]; then
      echo "aws-sam-cli did not install: sam validate cannot run (CI=true, failing)" >&2
      exit 1
    fi
    echo "aws-sam-cli did not install; skipping sam validate (outside CI only)"
  fi
fi
if [ -x .venv/bin/sam ]; then
  AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template template.yaml
  echo "sam validate --lint: clean"
elif [ "${CI:-}" = "true" ]; then
  echo "no sam CLI in .venv: sam validate cannot run (CI=true, failing)" >&2
  exit 1
fi

# The template expanded by the SAM translator keeps its security properties.
.venv/bin/python -m unittest discover -s infra/tests
echo "template expansion tests: passed"

checkov_venv=.local/checkov-venv
if [ ! -x "$checkov_venv/bin/checkov" ]; then
  echo "installing checkov (PyPI) into $checkov_venv"
  mkdir -p .local
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install --quiet --disable-pip-version-check "checkov==3.3.30"
fi
# Every finding is fixed, or skipped in the template with its reason
# (Metadata: checkov: skip); any failed check fails this command.
# --skip-download: nothing is fetched from the vendor's service.
if ! out="$(BC_SKIP_MAPPING=TRUE "$checkov_venv/bin/checkov" -f template.yaml --framework cloudformation --compact --skip-download 2>&1)"; then
  echo "$out"
  echo "checkov: failed checks above (fix them, or skip them in the template with a reason)" >&2
  exit 1
fi
echo "$out" | grep -E "Passed checks"
echo "checkov: 0 failed checks"
