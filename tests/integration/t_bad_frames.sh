#!/bin/bash
# Bad input gets a clear error and costs little: hostile frames on the
# client listener (before and after authentication) and on the
# federation listener each get an "error" answer (bad_frame or
# bad_message) and a closed connection, while a normal session next to
# them keeps working and the relay stays up.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
P=$(orgdir partner.test)

# A session that is connected the whole time: bob waits for one message.
recv_json_bg() {
	CLIENT_TIMEOUT=60 client bob@acme.test recv --json --count 1 \
	    --wait 40 >"$T/out/bob-bg.json" 2>"$T/out/bob-bg.err" &
	BG=$!
	track_pid $BG
}
recv_json_bg

# hostile WHERE CASE [options]: error answer, then the relay closes.
hostile() {
	local where=$1 case=$2 out=$T/out/bad-$1-$2.json
	shift 2
	case $where in
	fed)
		probe raw --alpn fed \
		    $(fed_probe_args acme.test "$P/relay.crt" "$P/relay.key") \
		    --case "$case" "$@" >"$out" 2>&1 ;;
	client*)
		probe raw $(client_probe_args acme.test) --case "$case" \
		    "$@" >"$out" 2>&1 ;;
	esac
	[ $? -eq 0 ] || fail "$where/$case: probe could not connect:" \
	    "$(cat "$out")"
	local why
	why=$(expect_error_close "$out" bad_frame bad_message) ||
	    fail "$where/$case: $why"
	log "$where/$case: $why, closed"
	relay_alive acme.test || fail "$where/$case: acme's relay died"
}

for c in huge zero notmsgpack truncated deep notmap unknowntype \
    missingfields; do
	hostile client "$c"
done
for c in huge notmsgpack unknowntype; do
	hostile client-authenticated "$c" \
	    --identity "${IDF[alice@acme.test]}"
done
for c in huge zero notmsgpack unknowntype; do
	hostile fed "$c"
done

# Meanwhile bob's session went on: alice's message reaches it.
proc_alive "$BG" || fail "bob's waiting recv ended early:" \
    "$(cat "$T/out/bob-bg.json" "$T/out/bob-bg.err")"
send alice@acme.test bob@acme.test --text "still working"
id=${SENT_IDS[0]}
wait_exit "$BG" 30 || fail "bob's recv got nothing within 30s"
wait "$BG"
rc=$?
[ $rc -eq 0 ] || fail "bob's recv: status $rc:" \
    "$(cat "$T/out/bob-bg.json" "$T/out/bob-bg.err")"
expect_msgs "$T/out/bob-bg.json" "$id" alice@acme.test "still working"

# And a fresh session too.
send bob@acme.test alice@acme.test --text "and back"
recv_expect alice@acme.test 10 "${SENT_IDS[0]}" bob@acme.test "and back"

relay_alive acme.test || fail "acme's relay is gone"
kill -0 "${RELAY_PID[acme.test]}" || fail "kill -0 acme's relay"
stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
