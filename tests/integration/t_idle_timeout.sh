#!/bin/bash
# Idle and slow connections are timed out (client idle_timeout = 2 s
# here; the TLS handshake has its own bound), without disturbing a
# device that is legitimately waiting for mail longer than that.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
set_conf acme.test idle_timeout 2
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
C=$(client_probe_args acme.test)

# A TCP connection that never starts TLS: the handshake bound closes it
# (runs in the background, checked at the end).
probe stall --port "$(client_port acme.test)" --timeout 25 \
    >"$T/out/stall.json" 2>&1 &
STALL=$!
track_pid $STALL

# idle CASE [options]: the relay closes it within 2..6 s.
idle() {
	local case=$1 out=$T/out/idle-$1.json t0=$SECONDS
	shift
	probe raw $C --case "$case" --timeout 10 "$@" >"$out" 2>&1 ||
	    fail "$case: probe could not connect: $(cat "$out")"
	grep -q '"t": "accepted"' "$out" && fail "$case: accepted something"
	[ "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).
	    readlines()[-1])["event"])' "$out")" = closed ] ||
	    fail "$case: still open after 10s with idle_timeout = 2"
	[ $((SECONDS - t0)) -ge 1 ] || fail "$case: closed at once"
	log "$case: closed after ~$((SECONDS - t0))s"
}

idle nothing
idle partial
idle nothing --identity "${IDF[alice@acme.test]}"

# A device waiting for mail longer than idle_timeout: bob's recv waits
# up to 12 s; alice's message comes after 5 s of silence.
CLIENT_TIMEOUT=30 client bob@acme.test recv --json --count 1 --wait 12 \
    >"$T/out/bob.json" 2>"$T/out/bob.err" &
BG=$!
track_pid $BG
sleep 5		# the silence is what is being tested
send alice@acme.test bob@acme.test --text "worth the wait"
id=${SENT_IDS[0]}

wait_exit "$STALL" 25 || fail "stalled TCP connection: probe still running"
wait "$STALL"
ev=$(probe_field "$T/out/stall.json" event)
after=$(probe_field "$T/out/stall.json" after)
[ "$ev" = closed ] ||
    fail "a connection that never started TLS was left open: $after s"
log "no-TLS connection closed after ${after}s"

wait_exit "$BG" 15 || fail "bob's recv did not end"
wait "$BG"
rc=$?
[ $rc -eq 0 ] || fail "bob's recv --wait 12 ended with status $rc when" \
    "the relay (idle_timeout = 2) closed his waiting session:" \
    "$(cat "$T/out/bob.err")"
expect_msgs "$T/out/bob.json" "$id" alice@acme.test "worth the wait"

relay_alive acme.test || fail "acme's relay died"
stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
