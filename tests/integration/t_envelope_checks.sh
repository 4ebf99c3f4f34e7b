#!/bin/bash
# A relay checks every envelope header it takes, from a device or from a
# peer: wrong version, box not a padding bucket, lifetime out of bounds,
# already expired, created in the future, non-canonical recipient.  Each
# is refused with an error (the session goes on) and nothing is queued.
# The client refuses what it cannot send with a clear status.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
new_user partner.test carol@partner.test
read -r bdev bbox <<<"$(lookup_keys bob@acme.test alice@acme.test)"
[ -n "${bbox:-}" ] || fail "lookup of bob@acme.test found no device"

P=$(orgdir partner.test)
FED=$(fed_probe_args acme.test "$P/relay.crt" "$P/relay.key")
C=$(client_probe_args acme.test)
n=0

# bad ORG ERRNAMES MKENV-OPTIONS...: the envelope is refused by acme, both
# from alice's device (org acme.test) and over federation (partner.test).
bad() {
	local what=$1 names=$2 org out got
	shift 2
	for org in acme.test partner.test; do
		n=$((n + 1))
		probe mkenv --out "$T/bad$n.env" --org "$org" "$@" \
		    >/dev/null 2>"$T/out/mk$n.err" ||
		    fail "$what: probe mkenv: $(cat "$T/out/mk$n.err")"
		out=$T/out/bad$n.json
		if [ $org = acme.test ]; then
			probe client $C --identity "${IDF[alice@acme.test]}" \
			    send="$T/bad$n.env" ping >"$out" 2>&1
		else
			probe fed $FED relay="$T/bad$n.env" ping >"$out" 2>&1
		fi
		grep -q '"t": "accepted"' "$out" &&
		    fail "$what ($org): accepted: $(cat "$out")"
		got=$(probe_field "$out" msg.errname | head -n 1)
		[[ " $names " == *" $got "* ]] ||
		    fail "$what ($org): error '$got', want $names:" \
		    "$(cat "$out")"
		[ "$(probe_field "$out" msg.t | tail -n 1)" = ok ] ||
		    fail "$what ($org): session did not go on after the" \
		    "refusal: $(cat "$out")"
		log "$what ($org): $got"
	done
}

to=(--to bob@acme.test --dev "$bdev")
bad "version 1" "bad_envelope bad_message" "${to[@]}" --version 1
bad "box not a bucket" "bad_envelope bad_message" "${to[@]}" --box-len 300
bad "box empty" "bad_envelope bad_message" "${to[@]}" --box-len 0
bad "lifetime 59s" "bad_envelope bad_message" "${to[@]}" --ttl 59
bad "lifetime 31 days" "bad_envelope bad_message" "${to[@]}" \
    --ttl $((31 * 86400))
bad "expired" "expired bad_envelope" "${to[@]}" --ts-offset -7200 \
    --ttl 3600
bad "from the future" "bad_envelope expired" "${to[@]}" --ts-offset 3600
bad "upper-case recipient" "bad_envelope bad_message bad_address" \
    --to Bob@acme.test --dev "$bdev"
recv_none bob@acme.test

# The client: unknown user, bad address, content over the largest bucket.
out=$(client alice@acme.test send nobody@acme.test --text x 2>&1)
rc=$?
[ $rc -eq 3 ] || fail "send to nobody@acme.test: status $rc, want 3: $out"
out=$(client alice@acme.test send nobody@partner.test --text x 2>&1)
rc=$?
[ $rc -eq 3 ] ||
    fail "send to nobody@partner.test: status $rc, want 3: $out"
out=$(client alice@acme.test send "not an address" --text x 2>&1)
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 3 ] ||
    fail "send to 'not an address': status $rc, want 1 or 3: $out"
head -c $((600 * 1024)) /dev/zero >"$T/big.bin"
out=$(client alice@acme.test send bob@acme.test --file "$T/big.bin" 2>&1)
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 3 ] ||
    fail "send of 600 KiB: status $rc, want 1 or 3: $out"
recv_none bob@acme.test

# The largest content that fits still goes through.
head -c $((500 * 1024)) /dev/urandom >"$T/large.bin"
send alice@acme.test bob@acme.test --file "$T/large.bin"
recv_expect bob@acme.test 10 "${SENT_IDS[0]}" alice@acme.test \
    "file:$T/large.bin"

relay_alive acme.test || fail "acme's relay died"
stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
