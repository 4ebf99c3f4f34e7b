#!/bin/bash
# Bilateral consent: third.test lists acme.test as a peer, but acme.test
# does not list third.test.  Nothing crosses between them in either
# direction, and the refusals are clear; partner.test, listed on both
# sides, still works.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test third.test
drop_peer acme.test third.test
"$RELAY_BIN" -n -c "$(conf acme.test)" >"$T/out/check.out" 2>&1 ||
    fail "config without third.test does not check: $(cat "$T/out/check.out")"
start_relay acme.test
start_relay partner.test
start_relay third.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
new_user third.test carol@third.test
read -r cdev cbox <<<"$(lookup_keys carol@third.test carol@third.test)"
[ -n "${cbox:-}" ] || fail "lookup of carol@third.test found no device"

# third.test's real certificate is not welcome at acme.test.
Q=$(orgdir third.test)
out=$T/out/third-at-acme.json
probe fed $(fed_probe_args acme.test "$Q/relay.crt" "$Q/relay.key") ping \
    >"$out" 2>&1
grep -q '"t": "ok"' "$out" && fail "acme took a federation session from" \
    "third.test, which it does not list"
log "third.test at acme: $(tail -n 1 "$out")"

# alice cannot send to carol: the client's lookup is refused ...
out=$(client alice@acme.test send carol@third.test --text "no way" 2>&1)
rc=$?
[ $rc -eq 3 ] || fail "send to carol@third.test: status $rc, want 3: $out"
log "alice -> carol: status 3: $out"

# ... and an envelope her device seals anyway is refused, not queued
# for a peer that does not exist.
probe mkenv --out "$T/tocarol.env" --org acme.test --to carol@third.test \
    --dev "$cdev" --rbpk "$cbox" --identity "${IDF[alice@acme.test]}" \
    --text "no way either" >/dev/null || fail "probe mkenv"
out=$T/out/tocarol.json
probe client $(client_probe_args acme.test) \
    --identity "${IDF[alice@acme.test]}" send="$T/tocarol.env" \
    >"$out" 2>&1 || fail "alice's session: $(cat "$out")"
got=$(probe_field "$out" msg.errname | head -n 1)
[ "$got" = not_allowed ] || fail "device envelope for a domain acme does" \
    "not federate with: '$got', want not_allowed: $(cat "$out")"

# carol cannot reach alice either.
out=$(client carol@third.test send alice@acme.test --text "hello?" 2>&1)
rc=$?
[ $rc -eq 3 ] || fail "send carol -> alice: status $rc, want 3: $out"
log "carol -> alice: status 3: $out"
recv_none alice@acme.test
recv_none carol@third.test

# partner.test is unaffected.
send alice@acme.test bob@partner.test --text "still partners"
recv_expect bob@partner.test 10 "${SENT_IDS[0]}" alice@acme.test \
    "still partners"
send bob@partner.test alice@acme.test --text "indeed"
recv_expect alice@acme.test 10 "${SENT_IDS[0]}" bob@partner.test "indeed"

stop_relay acme.test
stop_relay partner.test
stop_relay third.test
echo "PASS: $TEST_NAME"
