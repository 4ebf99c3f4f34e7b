#!/bin/bash
# Exactly once into a mailbox: the same envelope (same id) handed over
# again, over federation or by a device, is answered "accepted" each time
# and lands once, even after the first copy was read and acknowledged.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
read -r adev abox <<<"$(lookup_keys alice@acme.test alice@acme.test)"
[ -n "${abox:-}" ] || fail "lookup of alice@acme.test found no device"

P=$(orgdir partner.test)
FED=$(fed_probe_args acme.test "$P/relay.crt" "$P/relay.key")
BOBC=$(client_probe_args partner.test)

# mk NAME TEXT: an envelope for alice, sealed and signed by bob.
mk() {
	probe mkenv --out "$T/$1.env" --org partner.test \
	    --to alice@acme.test --dev "$adev" --rbpk "$abox" \
	    --identity "${IDF[bob@partner.test]}" --text "$2" \
	    >"$T/$1.mk" || fail "probe mkenv $1"
	sed -nE 's/.*"id": "([0-9a-f]{32})".*/\1/p' "$T/$1.mk"
}

# accepted_n OUT N ID: N answers in OUT, every one "accepted" for ID.
accepted_n() {
	local ts ids
	ts=$(probe_field "$1" msg.t | tr '\n' ' ')
	ids=$(probe_field "$1" msg.id | sort -u)
	[ "$ts" = "$(printf 'accepted %.0s' $(seq 1 "$2"))" ] ||
	    fail "want $2 x accepted, got '$ts': $(cat "$1")"
	[ "$ids" = "$3" ] || fail "accepted ids '$ids', want $3"
}

# 1. Over federation, twice on one connection, once more on another.
fa=$(mk fa "federation copy")
out=$T/out/fed1.json
probe fed $FED relay="$T/fa.env" relay="$T/fa.env" >"$out" 2>&1 ||
    fail "federation session: $(cat "$out")"
accepted_n "$out" 2 "$fa"
out=$T/out/fed2.json
probe fed $FED relay="$T/fa.env" >"$out" 2>&1 ||
    fail "second federation session: $(cat "$out")"
accepted_n "$out" 1 "$fa"

recv_expect alice@acme.test 10 "$fa" bob@partner.test "federation copy"

# After alice acknowledged it, the id is still remembered.
out=$T/out/fed3.json
probe fed $FED relay="$T/fa.env" >"$out" 2>&1 ||
    fail "third federation session: $(cat "$out")"
accepted_n "$out" 1 "$fa"
recv_none alice@acme.test

# ... also across a restart of acme.
stop_relay acme.test
start_relay acme.test
out=$T/out/fed4.json
probe fed $FED relay="$T/fa.env" >"$out" 2>&1 ||
    fail "federation session after restart: $(cat "$out")"
accepted_n "$out" 1 "$fa"
recv_none alice@acme.test

# 2. From bob's device to his own relay (the probe authenticates with
# bob's identity file), twice: partner.test forwards it once.
fb=$(mk fb "device copy")
out=$T/out/dev1.json
probe client $BOBC --identity "${IDF[bob@partner.test]}" \
    send="$T/fb.env" send="$T/fb.env" >"$out" 2>&1 ||
    fail "bob's session: $(cat "$out")"
grep -q '"t": "ok"' "$out" || fail "bob's probe did not authenticate"
probe_field "$out" msg.t | grep -v '^ok$\|^challenge$' >"$T/dev1.t"
[ "$(tr '\n' ' ' <"$T/dev1.t")" = "accepted accepted " ] ||
    fail "bob's two sends: $(cat "$out")"
recv_expect alice@acme.test 15 "$fb" bob@partner.test "device copy"
recv_none alice@acme.test

# 3. The envelope acme already has, sent anew through partner.test
# (which never saw it): accepted there, forwarded, deduplicated at acme.
out=$T/out/dev2.json
probe client $BOBC --identity "${IDF[bob@partner.test]}" \
    send="$T/fa.env" >"$out" 2>&1 || fail "bob's session: $(cat "$out")"
grep -q '"t": "accepted"' "$out" || fail "resend of $fa: $(cat "$out")"
wait_log partner.test "deliver: .*id=$fa.*result=accepted" 1 15 ||
    fail "partner did not hand $fa to acme within 15s"
recv_none alice@acme.test

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
