#!/bin/bash
# Accepted means durable and exactly once into a mailbox, under crashes:
# sealpost-torture keeps devices at acme.test sending to partner.test
# (and to acme.test) while it kills one of the two relays with SIGKILL
# at random moments and restarts it, a few times; then it drains and
# counts.  Nothing acknowledged may be lost, nothing may reach a mailbox
# twice (a re-push of the same mailbox entry after a lost ack is fine).
# tools/torture runs the same for a hundred kills and more.
. "$(dirname "$0")/lib.sh"

TORTURE_BIN=$SEALPOST_BUILD/sealpost-torture
CYCLES=${TORTURE_CYCLES:-6}
PAIRS=2
LOCAL=1
[ -x "$TORTURE_BIN" ] || fail "no sealpost-torture at $TORTURE_BIN"

# setup_orgs already sets retry_min = 1 and retry_max = 2.
setup_orgs acme.test partner.test
for ((i = 0; i < PAIRS; i++)); do
	add_user acme.test "sender$i@acme.test" >>"$T/codes-a" ||
	    fail "user add sender$i"
	add_user partner.test "receiver$i@partner.test" >>"$T/codes-b" ||
	    fail "user add receiver$i"
done
for ((i = 0; i < LOCAL; i++)); do
	add_user acme.test "local$i@acme.test" >>"$T/codes-a" ||
	    fail "user add local$i"
done

# The relays are sealpost-torture's children, logging where the
# cleanup looks for sanitizer reports and leaked secrets.
timeout 150 "$TORTURE_BIN" --relay "$RELAY_BIN" --cycles "$CYCLES" \
    --pairs "$PAIRS" --local "$LOCAL" --rate 1000 --backlog 3000 \
    --max-gap 1500 --drain 30 \
    --a-conf "$(conf acme.test)" --a-port "$(client_port acme.test)" \
    --a-ca "$(orgdir acme.test)/ca.crt" --a-domain acme.test \
    --a-codes "$T/codes-a" --a-log "$T/acme.test.log" \
    --b-conf "$(conf partner.test)" --b-port "$(client_port partner.test)" \
    --b-ca "$(orgdir partner.test)/ca.crt" --b-domain partner.test \
    --b-codes "$T/codes-b" --b-log "$T/partner.test.log" \
    >"$T/out/torture.out" 2>"$T/out/torture.err" &
TORTURE=$!
track_pid $TORTURE
wait $TORTURE
rc=$?
EXTRA_PIDS=()

line=$(grep '^torture ' "$T/out/torture.out")
log "$line"
[ -n "$line" ] || fail "sealpost-torture printed no result (status $rc):" \
    "$(tail -n 5 "$T/out/torture.err")"

# field NAME: its value in the result line.
field() { sed -nE "s/.* $1=([0-9.]+).*/\1/p" <<<"$line"; }

[ "$(field lost)" = 0 ] || fail "lost envelopes: $line" \
    "$(grep '^sealpost-torture: lost id=' "$T/out/torture.err" |
    head -n 3)"
[ "$(field duplicated)" = 0 ] || fail "duplicated envelopes: $line"
[ "$(field cycles)" = "$CYCLES" ] || fail "only $(field cycles) of" \
    "$CYCLES kills happened: $line"
[ "$(field acknowledged)" -gt 0 ] || fail "nothing acknowledged: $line"
[ $rc -eq 0 ] || fail "sealpost-torture exited with status $rc:" \
    "$(grep -E 'FAIL|exited|refused' "$T/out/torture.err" | head -n 5)"
grep -q 'info: relay: ready' "$T/acme.test.log" ||
    fail "acme.test never became ready"
echo "PASS: $TEST_NAME"
