#!/bin/bash
# Accepted means durable at any instant: while alice's device streams
# envelopes to bob at another organisation, her relay is killed with
# SIGKILL mid-stream (while it is also handing envelopes over), then
# restarted; then the same with SIGTERM.  Every envelope it answered
# "accepted" reaches bob, none twice, and nothing arrives that was never
# sent.
. "$(dirname "$0")/lib.sh"

N=300
setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test
read -r bdev bbox <<<"$(lookup_keys bob@partner.test alice@acme.test)"
[ -n "${bbox:-}" ] || fail "lookup of bob@partner.test found no device"

# accepted FILE: "accepted" answers in a probe output so far.
accepted() {
	local n
	n=$(grep -c '"t": "accepted"' "$1" 2>/dev/null)
	echo "${n:-0}"
}

# burst NAME STOP: stream N envelopes, STOP acme (kill_relay or
# stop_relay) once 40 are accepted, restart it, check what bob gets.
burst() {
	local name=$1 stop=$2 out=$T/out/$1.json i ops=() acc first why
	probe mkenv --out "$T/$name" --count $N --org acme.test \
	    --to bob@partner.test --dev "$bdev" --rbpk "$bbox" \
	    --identity "${IDF[alice@acme.test]}" --text "$name" \
	    >"$T/$name.made" || fail "probe mkenv"
	for i in $(seq 1 $N); do
		ops+=(send="$T/$name.$i")
	done

	: >"$out"
	probe client $(client_probe_args acme.test) \
	    --identity "${IDF[alice@acme.test]}" "${ops[@]}" >"$out" 2>&1 &
	STREAM=$!
	track_pid $STREAM

	local deadline=$((SECONDS + 20))
	while [ "$(accepted "$out")" -lt 40 ]; do
		proc_alive "$STREAM" || fail "$name: stream ended early:" \
		    "$(tail -n 3 "$out")"
		[ $SECONDS -lt $deadline ] ||
		    fail "$name: 40 sends not accepted in 20s"
		sleep 0.02
	done
	$stop acme.test
	wait_exit "$STREAM" 10 || fail "$name: the stream did not notice"
	wait "$STREAM"
	acc=$(accepted "$out")
	[ "$acc" -ge 40 ] && [ "$acc" -lt $N ] ||
	    fail "$name: $acc of $N accepted before the stop; nothing tested"

	start_relay acme.test

	recv_json bob@partner.test "$acc" 20
	[ $RECV_RC -eq 0 ] || fail "$name: bob got fewer than the $acc" \
	    "accepted: status $RECV_RC, $(grep -c . "$RECV_OUT") received"
	first=$RECV_OUT
	recv_json bob@partner.test 0 2
	[ $RECV_RC -eq 0 ] || fail "$name: second recv: status $RECV_RC"

	why=$("$PY" - "$T/$name.made" "$out" "$first" "$RECV_OUT" <<'PYEOF'
import json, sys
made = {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    made[m["id"]] = m["text"]
acc = set()
for l in open(sys.argv[2]):
    e = json.loads(l)
    if e.get("msg", {}).get("t") == "accepted":
        acc.add(e["msg"]["id"])
got = []
for f in sys.argv[3:]:
    for l in open(f):
        if l.strip():
            got.append(json.loads(l))
ids = [m["id"] for m in got]
dups = sorted({i for i in ids if ids.count(i) > 1})
if dups:
    print("delivered twice: %s" % dups[:5]); sys.exit(1)
lost = acc - set(ids)
if lost:
    print("%d accepted but lost, e.g. %s" % (len(lost), sorted(lost)[:3]))
    sys.exit(1)
for m in got:
    if made.get(m["id"]) != m.get("text") or \
            m.get("from") != "alice@acme.test" or \
            m.get("verified") not in (True, "yes"):
        print("unexpected message %s" % m); sys.exit(1)
print("ok %d accepted, %d delivered" % (len(acc), len(ids)))
PYEOF
	) || fail "$name: $why"
	log "$name: $stop acme after $acc accepted: ${why#ok }"
}

burst stream1 kill_relay
burst stream2 stop_relay

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
