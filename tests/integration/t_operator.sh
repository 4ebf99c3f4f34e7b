#!/bin/bash
# Operator commands on a running relay: revoking a device and removing a
# user take effect at once for new sessions, unspent codes die with the
# user, and SIGHUP is ignored with a warning instead of ending the relay.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test

# A second device for bob, then revoke the first one.
code=$("$RELAY_BIN" -c "$(conf partner.test)" user code bob@partner.test) ||
    fail "user code bob"
note_secret "$code"
mv "${IDF[bob@partner.test]}" "$T/id/bob-first"
enrol partner.test bob@partner.test "$code"

"$RELAY_BIN" -c "$(conf partner.test)" user list >"$T/out/list" ||
    fail "user list"
grep -qx "bob@partner.test devices=2" "$T/out/list" ||
    fail "bob should have 2 devices: $(cat "$T/out/list")"

out=$("$RELAY_BIN" -c "$(conf partner.test)" user revoke bob@partner.test 1)
[ "$out" = "revoked bob@partner.test device 1" ] ||
    fail "revoke printed '$out'"
"$RELAY_BIN" -c "$(conf partner.test)" user revoke bob@partner.test 1 \
    2>"$T/out/revoke2" && fail "revoking a revoked device succeeded"
grep -q "has no device 1" "$T/out/revoke2" ||
    fail "second revoke said: $(cat "$T/out/revoke2")"

# The directory now lists only the second device, and the first one
# cannot authenticate any more.
client alice@acme.test lookup bob@partner.test >"$T/out/keys" ||
    fail "lookup bob after revoke"
[ "$(grep -c '^dev=' "$T/out/keys")" = 1 ] ||
    fail "lookup after revoke: $(cat "$T/out/keys")"
grep -q '^dev=2 ' "$T/out/keys" || fail "device 2 not listed"
timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "$T/id/bob-first" \
    lookup alice@acme.test >/dev/null 2>&1 &&
    fail "a revoked device still authenticates"

# Remove alice with an unspent code: the code must die with her.
spare=$("$RELAY_BIN" -c "$(conf acme.test)" user code alice@acme.test) ||
    fail "user code alice"
note_secret "$spare"
out=$("$RELAY_BIN" -c "$(conf acme.test)" user remove alice@acme.test)
[ "$out" = "removed alice@acme.test" ] || fail "remove printed '$out'"
"$RELAY_BIN" -c "$(conf acme.test)" user list >"$T/out/list"
grep -q alice "$T/out/list" && fail "alice still listed"
client alice@acme.test lookup bob@partner.test >/dev/null 2>&1 &&
    fail "a removed user's device still authenticates"
timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "$T/id/alice-again" enrol \
    alice@acme.test "$spare" --relay "127.0.0.1:$(client_port acme.test)" \
    --ca "$(orgdir acme.test)/ca.crt" >/dev/null 2>&1 &&
    fail "a code issued before the removal still enrols"

# SIGHUP: a warning, and the relay carries on.
kill -HUP "${RELAY_PID[acme.test]}"
wait_log acme.test "warn: relay: SIGHUP ignored" 1 5 ||
    fail "no warning for SIGHUP"
relay_alive acme.test || fail "SIGHUP ended the relay"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
