#!/bin/bash
# The partner's relay is down when alice sends: her relay accepts and
# queues the envelope, and hands it over once partner.test is back
# (retry_min = 1, retry_max = 2).
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
new_user partner.test carol@partner.test

# While both are up alice learns bob's keys (a client or relay may
# remember them; the send below must not need partner.test).
lookup_keys bob@partner.test alice@acme.test >"$T/bob.keys"
[ -s "$T/bob.keys" ] || fail "lookup of bob@partner.test found no device"

stop_relay partner.test

send alice@acme.test bob@partner.test --text "queued while you were down"
id=${SENT_IDS[0]}

# It waits at acme: no hand-over can have happened.
[ "$(log_count acme.test "deliver: .*id=$id.*result=accepted")" -eq 0 ] ||
    fail "acme claims to have handed $id to a relay that is down"

# Carol's keys were never looked up: with her relay down nobody can
# seal for her, and the client says so clearly (status 3, the relay's
# peer_unreachable) instead of hanging or claiming success.
t1=$SECONDS
out=$(client alice@acme.test send carol@partner.test --text "x" 2>&1)
rc=$?
[ $rc -eq 3 ] && printf '%s' "$out" | grep -q peer_unreachable ||
    fail "send to carol with her relay down: status $rc, want 3 and" \
    "peer_unreachable: $out"
[ $((SECONDS - t1)) -le 15 ] ||
    fail "send to an unreachable peer took $((SECONDS - t1))s"

start_relay partner.test
t0=$SECONDS
recv_expect bob@partner.test 15 "$id" alice@acme.test \
    "queued while you were down"
[ $((SECONDS - t0)) -le 12 ] ||
    fail "delivery took $((SECONDS - t0))s with retry_max = 2"
recv_none bob@partner.test

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
