#!/bin/bash
# Bob is not connected when alice sends; his relay keeps the envelope
# and a later recv gets it, once.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test

send alice@acme.test bob@partner.test --text "while you were away 1"
id1=${SENT_IDS[0]}
send alice@acme.test bob@partner.test --text "while you were away 2"
id2=${SENT_IDS[0]}

# Both reach bob's relay with no device of bob connected.
wait_log acme.test "deliver: .*id=$id2.*result=accepted" 1 15 ||
    fail "acme did not hand $id2 to partner.test within 15s"

# Bob's relay survives a restart in between: the mailbox is on disk.
stop_relay partner.test
start_relay partner.test

recv_expect bob@partner.test 10 \
    "$id1" alice@acme.test "while you were away 1" \
    "$id2" alice@acme.test "while you were away 2"
recv_none bob@partner.test

# Same organisation, recipient offline.
code=$(add_user acme.test carol@acme.test) || fail "user add carol"
enrol acme.test carol@acme.test "$code"
send alice@acme.test carol@acme.test --text "local and offline"
recv_expect carol@acme.test 10 "${SENT_IDS[0]}" alice@acme.test \
    "local and offline"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
