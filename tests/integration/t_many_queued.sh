#!/bin/bash
# Many envelopes for one device, more than the 64 a relay keeps in
# flight unacknowledged: 100 wait while bob is offline, 50 more come
# while his recv is connected; he gets all 150, each exactly once.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
read -r bdev bbox <<<"$(lookup_keys bob@partner.test alice@acme.test)"
[ -n "${bbox:-}" ] || fail "lookup of bob@partner.test found no device"

C=$(client_probe_args acme.test)

# batch NAME COUNT: COUNT envelopes from alice to bob, sent in one
# session of alice's device; every one must be accepted.
batch() {
	probe mkenv --out "$T/$1" --count "$2" --org acme.test \
	    --to bob@partner.test --dev "$bdev" --rbpk "$bbox" \
	    --identity "${IDF[alice@acme.test]}" --text "$1" \
	    >"$T/$1.made" || fail "probe mkenv $1"
	local ops=() i
	for i in $(seq 1 "$2"); do
		ops+=(send="$T/$1.$i")
	done
	probe client $C --identity "${IDF[alice@acme.test]}" "${ops[@]}" \
	    >"$T/out/$1.json" 2>&1 || fail "$1: $(tail -n 3 "$T/out/$1.json")"
	[ "$(grep -c '"t": "accepted"' "$T/out/$1.json")" -eq "$2" ] ||
	    fail "$1: not all $2 accepted: $(grep -v accepted \
	    "$T/out/$1.json" | head -n 5)"
}

# want NAME: expect_msgs arguments for every envelope of batch NAME.
want() {
	"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    print(m["id"]); print("alice@acme.test"); print(m["text"])
' "$T/$1.made"
}

batch early 100

CLIENT_TIMEOUT=60 client bob@partner.test recv --json --count 150 \
    --wait 40 >"$T/out/bob.json" 2>"$T/out/bob.err" &
BG=$!
track_pid $BG

batch late 50

wait_exit "$BG" 45 || fail "bob's recv did not finish within 45s"
wait "$BG"
rc=$?
[ $rc -eq 0 ] || fail "bob's recv: status $rc, got" \
    "$(grep -c . "$T/out/bob.json") of 150: $(tail -n 3 "$T/out/bob.err")"
mapfile -t W < <(want early; want late)
expect_msgs "$T/out/bob.json" "${W[@]}"
recv_none bob@partner.test

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
