#!/bin/bash
# A peer may hand over only envelopes of its own organisation, for users
# of ours: with partner.test's real certificate, a relay frame claiming
# another origin, or addressed to another domain or an unknown device, is
# refused and never reaches a mailbox; a correct one is accepted.
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

# mk NAME ORG TO DEV TEXT: an envelope sealed for alice, signed by bob.
mk() {
	probe mkenv --out "$T/$1.env" --org "$2" --to "$3" --dev "$4" \
	    --rbpk "$abox" --identity "${IDF[bob@partner.test]}" \
	    --text "$5" >"$T/$1.mk" || fail "probe mkenv $1"
	sed -nE 's/.*"id": "([0-9a-f]{32})".*/\1/p' "$T/$1.mk"
}

# refused NAME ERRNAME...: relaying NAME gets an error with one of those
# names, and nothing is accepted.
refused() {
	local name=$1 out=$T/out/$1.json
	shift
	probe fed $FED relay="$T/$name.env" >"$out" 2>&1
	grep -q '"t": "accepted"' "$out" &&
	    fail "$name: acme accepted it: $(cat "$out")"
	local got
	got=$(probe_field "$out" msg.errname | head -n 1)
	[ -n "$got" ] || fail "$name: no error answer: $(cat "$out")"
	local e
	for e in "$@"; do
		[ "$got" = "$e" ] && { log "$name: refused with $got"; return; }
	done
	fail "$name: refused with '$got', want $*"
}

mk forged-other other.test alice@acme.test "$adev" "forged other" >/dev/null
mk forged-self acme.test alice@acme.test "$adev" "forged self" >/dev/null
mk not-ours partner.test alice@partner.test "$adev" "not ours" >/dev/null
mk no-device partner.test alice@acme.test $((adev + 1000)) "no dev" \
    >/dev/null
mk no-user partner.test nobody@acme.test "$adev" "no user" >/dev/null
good=$(mk good partner.test alice@acme.test "$adev" "the real thing")

refused forged-other not_allowed
refused forged-self not_allowed
refused not-ours not_allowed
refused no-device no_such_user
refused no-user no_such_user

# A refusal is not fatal: on the same connection, a forged envelope and
# then the correct one.
out=$T/out/mixed.json
probe fed $FED relay="$T/forged-other.env" relay="$T/good.env" \
    >"$out" 2>&1 || fail "mixed session: $(cat "$out")"
[ "$(probe_field "$out" msg.t | tr '\n' ' ')" = "error accepted " ] ||
    fail "mixed session: want error then accepted: $(cat "$out")"
[ "$(probe_field "$out" msg.id | tail -n 1)" = "$good" ] ||
    fail "accepted id is not $good: $(cat "$out")"

# Alice gets the correct one, verified as bob's, and nothing else.
recv_expect alice@acme.test 10 "$good" bob@partner.test "the real thing"
recv_none alice@acme.test
relay_alive acme.test || fail "acme's relay died"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
