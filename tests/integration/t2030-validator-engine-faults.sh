#!/usr/bin/env bash
test_description='caas-validator against a canned engine: an export cut short, a stalled export and SIGTERM'
. "$(dirname "$0")/test-lib.sh"

fake=$TOP/tests/integration/fake-engine.py

start_fake() { # MODE
	python3 "$fake" "$PWD/engine.sock" "$1" &
	fake_pid=$!
	for i in $(seq 50); do
		test -S engine.sock && return 0
		sleep 0.1
	done
	return 1
}

test_expect_success 'an export stream cut short: exit 6 naming the transfer; --json says so' '
	start_fake truncate &&
	test_when_finished "kill $fake_pid; rm -f engine.sock" &&
	test_expect_code 6 env DOCKER_HOST=unix://$PWD/engine.sock \
		caas-validator --no-processes --json r.json fake:1 >out 2>err &&
	cat err &&
	grep "cannot validate .fake:1.: GET .*/images/fake.*1/get: transfer closed" err &&
	jq -e ".status == \"failed\" and .exit_code == 6" r.json &&
	jq -e ".error | test(\"transfer closed\")" r.json &&
	jq -e "has(\"violations\") or has(\"Status\") | not" r.json &&
	! grep "valid" out
'

test_expect_success 'SIGTERM while the engine prepares the export: exit 143 at once' '
	start_fake stall &&
	test_when_finished "kill $fake_pid; rm -f engine.sock" &&
	{ DOCKER_HOST=unix://$PWD/engine.sock caas-validator --no-processes fake:1 >out 2>err & } &&
	pid=$! &&
	sleep 1 &&
	kill -TERM $pid &&
	start=$(date +%s) &&
	{ wait $pid; rc=$?; } ; test $rc = 143 &&
	test $(( $(date +%s) - start )) -le 3 &&
	grep "interrupted" err
'

test_done
