#!/bin/bash
# Two organisations, one user each: text both ways, then a file whose
# bytes must come back exactly; the sender is verified through the key
# directory every time.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test

send alice@acme.test bob@partner.test --text "hello bob, from acme"
a2b=${SENT_IDS[0]}
[ ${#SENT_IDS[@]} -eq 1 ] ||
    fail "bob has one device, send made ${#SENT_IDS[@]} envelopes"
recv_expect bob@partner.test 15 "$a2b" alice@acme.test "hello bob, from acme"

send bob@partner.test alice@acme.test --text "hi alice; ça va? ✓"
b2a=${SENT_IDS[0]}
recv_expect alice@acme.test 15 "$b2a" bob@partner.test "hi alice; ça va? ✓"

# Acked messages are gone: nothing comes a second time.
recv_none bob@partner.test
recv_none alice@acme.test

# A binary attachment, bigger than the smallest padding buckets.
head -c 70000 /dev/urandom >"$T/attach.bin"
send alice@acme.test bob@partner.test --file "$T/attach.bin"
fid=${SENT_IDS[0]}
recv_expect bob@partner.test 15 "$fid" alice@acme.test "file:$T/attach.bin"
saved=$(probe_field "$RECV_OUT" file)
cmp "$T/attach.bin" "$saved" || fail "attachment differs after the trip"

# Each hand-over left its key=value line on the sending relay.
[ "$(log_count acme.test "deliver: .*id=$a2b.*result=accepted")" -ge 1 ] ||
    fail "acme logged no deliver line for $a2b"
[ "$(log_count partner.test "deliver: .*id=$b2a.*result=accepted")" -ge 1 ] ||
    fail "partner logged no deliver line for $b2a"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
