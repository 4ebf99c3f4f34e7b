#!/bin/bash
# Accepted means durable: with the partner down alice's relay accepts
# several envelopes, is killed with SIGKILL, restarts, and hands every
# one over exactly once when the partner comes back.
. "$(dirname "$0")/lib.sh"

N=5
setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
lookup_keys bob@partner.test alice@acme.test >"$T/bob.keys"
[ -s "$T/bob.keys" ] || fail "lookup of bob@partner.test found no device"

stop_relay partner.test

want=()
for i in $(seq 1 $N); do
	send alice@acme.test bob@partner.test --text "durable $i"
	want+=("${SENT_IDS[0]}" alice@acme.test "durable $i")
done

# No warning, no commit chance: everything accepted must be on disk.
kill_relay acme.test
start_relay acme.test
start_relay partner.test

recv_expect bob@partner.test 20 "${want[@]}"
recv_none bob@partner.test

# Once more across a kill of the receiving side: partner killed right
# after it answered "accepted" keeps the envelope, and acme does not
# hand it over twice.
send alice@acme.test bob@partner.test --text "after the crash"
id=${SENT_IDS[0]}
wait_log acme.test "deliver: .*id=$id.*result=accepted" 1 15 ||
    fail "acme did not hand $id over within 15s"
kill_relay partner.test
start_relay partner.test
recv_expect bob@partner.test 15 "$id" alice@acme.test "after the crash"
recv_none bob@partner.test

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
