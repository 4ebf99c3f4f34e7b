#!/bin/bash
# A device cannot claim another origin; and an envelope the peer relay
# refuses for good (unknown device there) is dropped by the sending
# relay, not retried forever ahead of everything queued behind it.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
new_user partner.test carol@partner.test
read -r bdev bbox <<<"$(lookup_keys bob@acme.test alice@acme.test)"
read -r cdev cbox <<<"$(lookup_keys carol@partner.test alice@acme.test)"
[ -n "${bbox:-}" ] && [ -n "${cbox:-}" ] || fail "lookups found no device"
C=$(client_probe_args acme.test)
AID=${IDF[alice@acme.test]}

# dev_send NAME MKENV-OPTIONS...: alice's device sends it; output file.
dev_send() {
	local name=$1
	shift
	probe mkenv --out "$T/$name.env" --identity "$AID" "$@" \
	    >"$T/$name.mk" || fail "probe mkenv $name"
	probe client $C --identity "$AID" send="$T/$name.env" ping \
	    >"$T/out/$name.json" 2>&1 ||
	    fail "$name: session failed: $(cat "$T/out/$name.json")"
}

# 1. Another organisation's name on a device's envelope.
dev_send forged-local --org partner.test --to bob@acme.test --dev "$bdev" \
    --rbpk "$bbox" --text "forged local"
got=$(probe_field "$T/out/forged-local.json" msg.errname | head -n 1)
[ "$got" = not_allowed ] || fail "device envelope with org=partner.test" \
    "to a local user: '$got', want not_allowed:" \
    "$(cat "$T/out/forged-local.json")"
dev_send forged-remote --org partner.test --to carol@partner.test \
    --dev "$cdev" --rbpk "$cbox" --text "forged remote"
got=$(probe_field "$T/out/forged-remote.json" msg.errname | head -n 1)
[ "$got" = not_allowed ] || fail "device envelope with org=partner.test" \
    "to partner.test: '$got', want not_allowed:" \
    "$(cat "$T/out/forged-remote.json")"
recv_none bob@acme.test

# 2. A device partner.test does not know: acme cannot tell, the peer
# refuses it.  A good message queued right behind must still arrive.
dev_send nodev --org acme.test --to carol@partner.test \
    --dev $((cdev + 1000)) --rbpk "$cbox" --text "to nowhere"
bad=$(sed -nE 's/.*"id": "([0-9a-f]{32})".*/\1/p' "$T/nodev.mk")
if grep -q '"t": "accepted"' "$T/out/nodev.json"; then
	send alice@acme.test carol@partner.test --text "behind it"
	good=${SENT_IDS[0]}
	recv_expect carol@partner.test 10 "$good" alice@acme.test "behind it"
	wait_log acme.test "deliver: .*id=$bad" 1 5 ||
	    fail "acme logged no hand-over result for $bad"
	log "acme: $(grep "id=$bad" "$T/acme.test.log" | tail -n 1)"
	# Refused for good means not tried again (retry_max is 2 s).
	sleep 4		# time for retries that must not happen
	[ "$(log_count acme.test "deliver: .*id=$bad")" -eq 1 ] ||
	    fail "acme handed $bad over $(log_count acme.test \
	    "deliver: .*id=$bad") times after a permanent refusal"
else
	log "acme refused the envelope for an unknown remote device itself"
fi
recv_none carol@partner.test

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
