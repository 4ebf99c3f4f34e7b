#!/bin/bash
# A device proves who it is by signing the relay's fresh challenge:
# a wrong key, an unknown device, another user's address, a signature
# made for another challenge or another relay, and a request before
# authenticating are all refused (auth_failed closes the connection);
# the real device still gets in afterwards.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
new_user partner.test carol@partner.test
C=$(client_probe_args acme.test)
A=${IDF[alice@acme.test]}

# bad MODE NAME... [-- probe options]: refused with one of NAME...
bad() {
	local mode=$1 out=$T/out/auth-$1.json names=() why
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		names+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	probe authbad $C --identity "$A" --mode "$mode" "$@" >"$out" 2>&1 ||
	    fail "$mode: probe could not connect: $(cat "$out")"
	why=$(expect_error_close "$out" "${names[@]}") || fail "$mode: $why"
	log "$mode: refused with $why, closed"
	relay_alive acme.test || fail "$mode: acme's relay died"
}

bad wrongkey auth_failed
bad nodev auth_failed
bad replay auth_failed
bad wrongdomain auth_failed -- --other-domain partner.test
bdev=$(sed -nE 's/^dev[[:space:]]*=[[:space:]]*([0-9]+)L?;.*/\1/p' \
    "${IDF[bob@acme.test]}")
[ -n "$bdev" ] || fail "no dev in bob's identity file"
bad otheraddr auth_failed -- --other-addr bob@acme.test --other-dev "$bdev"
bad otheraddr auth_failed no_such_user -- --other-addr nobody@acme.test

# A request before authenticating is not carried out.  (Whether the
# relay closes after it is its choice; the answer must be an error.)
out=$T/out/auth-preauth.json
probe authbad $C --identity "$A" --mode preauth --timeout 2 >"$out" 2>&1 ||
    fail "preauth: probe could not connect: $(cat "$out")"
grep -q '"t": "accepted"' "$out" && fail "send before auth accepted"
grep -q '"t": "error"' "$out" || fail "send before auth: no error:" \
    "$(cat "$out")"

# Alice's device works, and got nothing from the attempts.
out=$T/out/auth-good.json
probe client $C --identity "$A" ping >"$out" 2>&1 ||
    fail "alice's real keys refused: $(cat "$out")"
recv_none alice@acme.test

# A device of partner.test cannot log in at acme.test, not even with
# its own valid keys.
out=$T/out/auth-foreign.json
probe client $C --identity "${IDF[carol@partner.test]}" ping >"$out" 2>&1
grep -q '"t": "ok"' "$out" && fail "carol@partner.test logged in at acme"
grep -q '"t": "error"' "$out" || fail "carol at acme: no error:" \
    "$(cat "$out")"

send alice@acme.test bob@acme.test --text "after the attempts"
recv_expect bob@acme.test 10 "${SENT_IDS[0]}" alice@acme.test \
    "after the attempts"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
