#!/bin/bash
# Enrolment codes are one-time and expire; the identity file is private
# and never overwritten; the admin commands refuse what they must; a
# user with two devices gets a copy of every message on each.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user partner.test bob@partner.test

code=$(add_user acme.test alice@acme.test) || fail "user add alice"
enrol acme.test alice@acme.test "$code"
A=${IDF[alice@acme.test]}
[ "$(stat -c %a "$A")" = 600 ] ||
    fail "identity file mode $(stat -c %a "$A"), want 600"
dev1=$(sed -nE 's/^dev[[:space:]]*=[[:space:]]*([0-9]+)L?;.*/\1/p' "$A")

# try_enrol IDFILE CODE: run enrol, output in $T/out/te.out, status in TE.
try_enrol() {
	timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "$1" enrol alice@acme.test \
	    "$2" --relay "127.0.0.1:$(client_port acme.test)" \
	    --ca "$(orgdir acme.test)/ca.crt" >"$T/out/te.out" 2>&1
	TE=$?
}

# user_code [ARGS]: another code for alice.
user_code() {
	local c
	c=$("$RELAY_BIN" -c "$(conf acme.test)" user code alice@acme.test \
	    "$@" 2>>"$T/admin.log" | sed '/^[[:space:]]*$/d' | tail -n 1)
	note_secret "$c"
	printf '%s\n' "$c"
}

# The used code again, for a second device.
try_enrol "$T/id/a2" "$code"
[ $TE -eq 3 ] && grep -q bad_code "$T/out/te.out" ||
    fail "reused code: status $TE, want 3 and bad_code: $(cat "$T/out/te.out")"
rm -f "$T/id/a2"

# A made-up code.
try_enrol "$T/id/a3" "not-a-real-code-0000"
[ $TE -eq 3 ] || fail "made-up code: status $TE, want 3:" \
    "$(cat "$T/out/te.out")"
rm -f "$T/id/a3"

# An existing identity file is never overwritten.
code2=$(user_code)
[ -n "$code2" ] || fail "user code printed no code"
cp "$A" "$T/alice.before"
try_enrol "$A" "$code2"
[ $TE -eq 1 ] || fail "enrol over an identity file: status $TE, want 1"
cmp -s "$A" "$T/alice.before" || fail "enrol overwrote an identity file"

# That refusal did not spend the code: a second device with it.
A2=$T/id/alice-2
try_enrol "$A2" "$code2"
[ $TE -eq 0 ] || fail "second device: status $TE: $(cat "$T/out/te.out")"
dev2=$(sed -nE 's/^enrolled alice@acme.test dev=([0-9]+)$/\1/p' \
    "$T/out/te.out")
[ -n "$dev2" ] && [ "$dev2" != "$dev1" ] ||
    fail "second device got dev '$dev2' (first is $dev1)"
IDF[alice-2]=$A2

# ... and only once.
try_enrol "$T/id/a4" "$code2"
[ $TE -eq 3 ] || fail "code used twice: status $TE"
rm -f "$T/id/a4"

# A code past its lifetime.
code3=$(user_code --ttl 1)
[ -n "$code3" ] || fail "user code --ttl 1 printed no code"
sleep 2.1	# the code's lifetime has to pass; nothing to poll for
try_enrol "$T/id/a5" "$code3"
[ $TE -eq 3 ] || fail "expired code: status $TE, want 3"
rm -f "$T/id/a5"

# Admin commands.
"$RELAY_BIN" -c "$(conf acme.test)" user list >"$T/out/list.out" 2>&1 ||
    fail "user list failed: $(cat "$T/out/list.out")"
grep -q 'alice@acme.test' "$T/out/list.out" ||
    fail "user list does not show alice: $(cat "$T/out/list.out")"
for bad in alice@acme.test "not an address" carol@partner.test; do
	"$RELAY_BIN" -c "$(conf acme.test)" user add "$bad" \
	    >"$T/out/ua.out" 2>&1 &&
	    fail "user add '$bad' succeeded: $(cat "$T/out/ua.out")"
done

# The client refuses an identity file others may read.
chmod 644 "$A2"
out=$(client alice-2 recv 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "identity file mode 644: status $rc, want 1: $out"
chmod 600 "$A2"

# A message to alice is sealed once per device; each device opens its own.
send bob@partner.test alice@acme.test --text "to all your devices"
[ ${#SENT_IDS[@]} -eq 2 ] ||
    fail "send to a user with 2 devices made ${#SENT_IDS[@]} envelopes"
recv_json alice@acme.test 1 10
[ $RECV_RC -eq 0 ] || fail "device 1 recv: status $RECV_RC"
i1=$(probe_field "$RECV_OUT" id)
expect_msgs "$RECV_OUT" "$i1" bob@partner.test "to all your devices"
recv_json alice-2 1 10
[ $RECV_RC -eq 0 ] || fail "device 2 recv: status $RECV_RC"
i2=$(probe_field "$RECV_OUT" id)
expect_msgs "$RECV_OUT" "$i2" bob@partner.test "to all your devices"
[ "$i1" != "$i2" ] || fail "both devices got the same envelope $i1"
printf '%s\n' "${SENT_IDS[@]}" | grep -qx "$i1" &&
    printf '%s\n' "${SENT_IDS[@]}" | grep -qx "$i2" ||
    fail "received ids $i1 $i2 are not the sent ${SENT_IDS[*]}"
recv_none alice@acme.test
recv_none alice-2

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
