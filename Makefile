# The one place where commands live; the README quotes these targets.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/afterhours-target

.PHONY: run test browser-test fuzz services-up services-down lint-template package bench deploy fmt clean-local

## Start the whole system locally (DynamoDB Local, moto, WhatsApp sandbox, API on :3000).
run:
	bash infra/scripts/run.sh

## fmt --check, clippy -D warnings, every test against DynamoDB Local and moto, and the desk page in Chromium.
test:
	bash infra/scripts/test.sh

## Only the desk page's browser tests (Playwright + Debian's Chromium), on their own ports.
browser-test:
	bash infra/scripts/browser.sh

## Start / stop only DynamoDB Local and moto (ports DDB_PORT, MOTO_PORT).
services-up:
	bash infra/scripts/deps.sh && . infra/scripts/env.sh && bash infra/scripts/services.sh start
services-down:
	. infra/scripts/env.sh && bash infra/scripts/services.sh stop

## schemathesis against the running local stack from infra/openapi.yaml (SPEC §13), bounded.
fuzz:
	bash infra/scripts/fuzz.sh

## Stand the service up in your AWS account: build, sam deploy, upload the desk, print the next steps.
deploy:
	bash infra/scripts/deploy.sh

## cfn-lint (with the serverless rules), sam validate --lint, the template's expansion tests and checkov.
lint-template:
	bash infra/scripts/lint-template.sh

## Every function for Lambda arm64 with cargo-lambda (zig from PyPI); prints bootstrap sizes.
package:
	bash infra/scripts/package.sh

## The performance budget (SPEC §10): cold start, first response, peak RSS, binary size.
bench:
	bash infra/scripts/bench.sh

fmt:
	cargo fmt --all

clean-local:
	rm -rf .local .venv
