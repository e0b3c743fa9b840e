#!/usr/bin/env bash
# `make deploy`: stands the whole service up in the AWS account of your
# credentials. Builds every function (cargo-lambda, arm64), runs `sam deploy`
# (guided the first time, then from samconfig.toml), writes the desk's
# config.json from the stack's outputs, uploads desk/ to the stack's bucket,
# invalidates the CDN, and prints the desk URL, the webhook URL and the next
# steps. Needs `sam`, the `aws` CLI and AWS credentials; without one of them
# it stops before doing anything.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
: "${CARGO_TARGET_DIR:=${HOME}/.cache/afterhours-target}"
export CARGO_TARGET_DIR

stop() { echo "make deploy: $*" >&2; exit 1; }

sam_bin="$(command -v sam || true)"
[ -n "$sam_bin" ] || stop "the AWS SAM CLI (sam) is not installed; install it (pip install aws-sam-cli) and run make deploy again."
command -v aws >/dev/null || stop "the AWS CLI (aws) is not installed; install it and run make deploy again."
if ! identity="$(aws sts get-caller-identity --query Account --output text 2>&1)"; then
  stop "no usable AWS credentials ($(echo "$identity" | tail -1)); configure them (aws configure, or AWS_PROFILE) and run make deploy again."
fi
echo "deploying to AWS account $identity"

# The stack's name and region: samconfig.toml once the guided deploy wrote it.
stack="afterhours"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
if [ -f samconfig.toml ]; then
  stack="$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -1)"
  region="$(sed -n 's/^region *= *"\(.*\)"/\1/p' samconfig.toml | head -1)"
  : "${stack:=afterhours}"
fi
[ -n "$region" ] || region="$(aws configure get region 2>/dev/null || true)"

# Build: cargo-lambda (and zig) from PyPI into .venv, as `make package` does.
bash infra/scripts/package.sh
export PATH="$root/.venv/bin:$PATH"
"$sam_bin" build --beta-features
if [ -f samconfig.toml ]; then
  "$sam_bin" deploy
else
  echo "first deploy: sam asks for the stack's name, region and parameters (Enter keeps a default) and saves them to samconfig.toml"
  "$sam_bin" deploy --guided --capabilities CAPABILITY_IAM
  stack="$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -1)"
  region="$(sed -n 's/^region *= *"\(.*\)"/\1/p' samconfig.toml | head -1)"
fi
regional=()
[ -z "$region" ] || regional=(--region "$region")

mkdir -p .local/deploy
aws cloudformation describe-stacks "${regional[@]}" --stack-name "$stack" \
  --query 'Stacks[0].Outputs' --output json >.local/deploy/outputs.json
output() { # key -> value
  python3 -c 'import json,sys; print(next((o["OutputValue"] for o in json.load(open(sys.argv[1])) if o["OutputKey"] == sys.argv[2]), ""))' \
    .local/deploy/outputs.json "$1"
}

# config.json and the upload list come from one tested function of afterhours-admin.
cargo build --quiet -p afterhours-admin
admin="$CARGO_TARGET_DIR/debug/afterhours-admin"
"$admin" desk-config --outputs .local/deploy/outputs.json --desk desk --config-out .local/deploy/config.json >.local/deploy/uploads.tsv
bucket="$(output DeskBucketName)"
while IFS=$'\t' read -r path key type cache; do
  aws s3 cp "${regional[@]}" --only-show-errors "$path" "s3://$bucket/$key" --content-type "$type" --cache-control "$cache"
done <.local/deploy/uploads.tsv
echo "uploaded $(wc -l <.local/deploy/uploads.tsv | tr -d ' ') files of the desk to s3://$bucket"
aws cloudfront create-invalidation --distribution-id "$(output DeskDistributionId)" --paths '/*' \
  --query Invalidation.Id --output text >/dev/null
echo "CDN invalidated"

pool="$(output UserPoolId)"
pool_arg=""
[ -z "$pool" ] || pool_arg=" --user-pool-id $pool"
cat <<NEXT

afterhours is deployed (stack $stack${region:+, $region}).
  Desk:     $(output DeskUrl)
  Webhook:  $(output WebhookUrl)

Next steps:
 1. Meta's app secret (Meta app > Settings > Basic):
      aws secretsmanager put-secret-value --secret-id $(output AppSecretArn) --secret-string '<app secret>'
 2. The WhatsApp access token (a system user's token, Business Settings):
      aws secretsmanager put-secret-value --secret-id $(output WhatsAppTokenArn) --secret-string '<access token>'
 3. The webhook verify token (one was generated; read it, or set your own the same way):
      aws secretsmanager get-secret-value --secret-id $(output VerifyTokenArn) --query SecretString --output text
 4. In Meta's app > WhatsApp > Configuration: callback URL $(output WebhookUrl),
    verify token from step 3; subscribe to the "messages" field.
 5. The first business, its admin and its WhatsApp Business Account:
      cargo run -q -p afterhours-admin -- --table $(output TableName)$pool_arg tenant create <tenant> --admin-email <email>
      cargo run -q -p afterhours-admin -- --table $(output TableName) account grant <tenant> <wabaId>
 6. The admin signs in at $(output DeskUrl) (Cognito emailed a temporary password)
    and binds the account's numbers under Settings.
NEXT
