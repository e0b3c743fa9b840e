# Defaults for the local stack; every value set before is kept.
# Sourced by run.sh and test.sh.
: "${DDB_PORT:=8000}"
: "${MOTO_PORT:=4010}"
: "${SANDBOX_PORT:=4020}"
: "${LOCAL_API_PORT:=3000}"
: "${AWS_REGION:=us-east-1}"
: "${AWS_ACCESS_KEY_ID:=local}"
: "${AWS_SECRET_ACCESS_KEY:=local}"
: "${AWS_ENDPOINT_URL_DYNAMODB:=http://127.0.0.1:${DDB_PORT}}"
: "${AWS_ENDPOINT_URL_EVENTBRIDGE:=http://127.0.0.1:${MOTO_PORT}}"
: "${TABLE_NAME:=afterhours}"
: "${EVENT_BUS_NAME:=afterhours}"
: "${APP_SECRET:=local-app-secret}"
: "${VERIFY_TOKEN:=local-verify-token}"
: "${LOCAL_JWT_SECRET:=local-jwt-secret}"
: "${WHATSAPP_TOKEN:=local-whatsapp-token}"
: "${CURSOR_SECRET:=local-cursor-secret}"
: "${CONTINUATION_KEY:=local-report-continuation-key}"
: "${WHATSAPP_API_BASE_URL:=http://127.0.0.1:${SANDBOX_PORT}}"
: "${WHATSAPP_API_VERSION:=v23.0}"
: "${CARGO_TARGET_DIR:=${HOME}/.cache/afterhours-target}"
export DDB_PORT MOTO_PORT SANDBOX_PORT LOCAL_API_PORT AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
  AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_EVENTBRIDGE TABLE_NAME EVENT_BUS_NAME APP_SECRET VERIFY_TOKEN \
  LOCAL_JWT_SECRET WHATSAPP_TOKEN CURSOR_SECRET CONTINUATION_KEY WHATSAPP_API_BASE_URL WHATSAPP_API_VERSION CARGO_TARGET_DIR
