#!/bin/bash
# A relay out of space says "try later" and loses nothing.
#
# Map full: partner.test runs with a 1 MiB LMDB map.  Its own device
# streams envelopes until the map is full: the relay answers try_later,
# the reference client exits 3 naming it, and the relay keeps running.
# While it is full, acme.test hands envelopes over: partner answers
# try_later over federation, acme keeps them and retries.  Once bob
# fetches and acks (which frees pages), everything either relay answered
# "accepted" reaches him exactly once, nothing refused does, and partner
# takes new envelopes again without a restart.
#
# Disk full (root only): disk.test keeps its store on a 3 MiB tmpfs
# that a filler file nearly fills.  The same: try_later, no crash, and
# new envelopes are accepted as soon as the filler is deleted.
#
# Prints the figures: envelopes accepted before the space ran out,
# refusals, and how long after space came back the relay accepted again.
. "$(dirname "$0")/lib.sh"

STREAM=200		# envelopes per stream
BODY_LEN=3000		# text per envelope: one 4 KiB padding bucket
BIG_LEN=12000		# the reference client's refused message

setup_orgs acme.test partner.test disk.test
set_conf partner.test map_size 1
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user partner.test dave@partner.test
new_user partner.test bob@partner.test
# A code handed out before the map fills; enrolling with it on a full
# map may be refused for now, never spent in vain.
erin_code=$(add_user partner.test erin@partner.test) || fail "user add erin"
read -r bdev bbox <<<"$(lookup_keys bob@partner.test dave@partner.test)"
[ -n "${bbox:-}" ] || fail "lookup of bob@partner.test found no device"

# body LEN: random printable text, noted as a secret for the log check.
body() {
	local b
	b=$(head -c $(($1 * 3 / 4 + 3)) /dev/urandom | base64 -w0 |
	    head -c "$1")
	note_secret "${b:0:64}"
	printf '%s' "$b"
}

# stream NAME ORG FROM TO DEV BOX COUNT [LEN]: COUNT sealed envelopes
# (LEN bytes of text, default BODY_LEN) from FROM's device to TO in one
# session with ORG's relay.  The probe output lands in $T/out/NAME.json,
# what was made in $T/NAME.made.
stream() {
	local name=$1 org=$2 from=$3 to=$4 dev=$5 box=$6 count=$7 ops=() i
	local len=${8:-$BODY_LEN}
	mkdir -p "$T/env"
	probe mkenv --out "$T/env/$name" --count "$count" --org "$org" \
	    --to "$to" --dev "$dev" --rbpk "$box" --identity "${IDF[$from]}" \
	    --text "$(body "$len")" >"$T/$name.made" ||
	    fail "probe mkenv $name"
	for i in $(seq 1 "$count"); do
		ops+=(send="$T/env/$name.$i")
	done
	probe client $(client_probe_args "$org") --identity "${IDF[$from]}" \
	    "${ops[@]}" >"$T/out/$name.json" 2>&1 ||
	    fail "$name: session failed: $(tail -n 3 "$T/out/$name.json")"
}

accepted_in() { grep -c '"t": "accepted"' "$1"; }

# refusals_in FILE: error answers in a probe output; every one must be
# try_later.
refusals_in() {
	local other
	other=$(probe_field "$1" msg.errname | grep -v '^try_later$' |
	    sort | uniq -c | tr '\n' ' ')
	[ -z "$other" ] || fail "$1: refusals other than try_later: $other"
	probe_field "$1" msg.errname | grep -c '^try_later$'
}

# refused_send ADDR TO: the reference client's send is refused with
# try_later (status 3, the name on stderr).
refused_send() {
	local out rc
	out=$(client "$1" send "$2" --text "$(body $BIG_LEN)" 2>&1)
	rc=$?
	[ $rc -eq 3 ] && printf '%s' "$out" | grep -q try_later ||
	    fail "send $1 -> $2 on a full store: status $rc, want 3 and" \
	    "try_later: $out"
	log "reference client: status 3: $(printf '%s' "$out" | head -n 1)"
}

# now: wall clock with fractions; since T0: seconds after T0.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# until_accepted ADDR TO: seconds until a send of ADDR's device is
# accepted again, trying every 0.2s for up to 20s.  Its id goes to the
# file $EXTRA.
until_accepted() {
	local t0 out
	t0=$(now)
	while :; do
		out=$(client "$1" send "$2" --text "$(body $BODY_LEN)" 2>&1) &&
		    break
		printf '%s' "$out" | grep -q try_later ||
		    fail "send $1 -> $2 while space returns: $out"
		[ "$(since "$t0" | cut -d. -f1)" -lt 20 ] ||
		    fail "send $1 -> $2 still refused 20s after space returned"
		sleep 0.2
	done
	since "$t0"
	printf '%s\n' "$out" | sed -nE 's/^accepted ([0-9a-f]{32}) .*/\1/p' \
	    >>"$EXTRA"
}

# check_delivery RECV_JSON MADE:PROBE_OUT...: the messages received are
# exactly those that were answered "accepted" (plus the ids in the
# file $EXTRA), each once, intact, from the right sender, verified.
check_delivery() {
	local got=$1 why
	shift
	why=$("$PY" - "$got" "$EXTRA" "$@" <<'PYEOF'
import json, os, sys
got_path, extra_path, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
made, acc, refused = {}, set(), set()
for pair in pairs:
    mpath, opath = pair.split(":")
    ids = {}
    for l in open(mpath):
        m = json.loads(l)
        ids[m["id"]] = m["text"]
    made.update(ids)
    for l in open(opath):
        if l.startswith("{"):
            e = json.loads(l)
            if e.get("msg", {}).get("t") == "accepted":
                acc.add(e["msg"]["id"])
    refused |= set(ids) - acc
extra = set()
if os.path.exists(extra_path):
    extra = {l.strip() for l in open(extra_path) if l.strip()}
got = [json.loads(l) for l in open(got_path) if l.strip()]
ids = [m["id"] for m in got]
dups = sorted({i for i in ids if ids.count(i) > 1})
if dups:
    print("delivered twice: %s" % dups[:3]); sys.exit(1)
lost = (acc | extra) - set(ids)
if lost:
    print("%d accepted but lost, e.g. %s" % (len(lost), sorted(lost)[:3]))
    sys.exit(1)
back = set(ids) & refused
if back:
    print("%d answered try_later but delivered, e.g. %s" % (len(back),
          sorted(back)[:3]))
    sys.exit(1)
for m in got:
    if m["id"] in made and m.get("text") != made[m["id"]]:
        print("message %s altered" % m["id"]); sys.exit(1)
    if m.get("verified") not in (True, "yes"):
        print("message %s not verified" % m["id"]); sys.exit(1)
unknown = set(ids) - acc - extra
if unknown:
    print("unexpected messages %s" % sorted(unknown)[:3]); sys.exit(1)
print("ok %d delivered" % len(ids))
PYEOF
	) || fail "$got: $why"
	echo "${why#ok }"
}

# only_full_errors ORG: the relay logged no error but full-store ones.
only_full_errors() {
	local bad
	bad=$(grep -E '(^|[^a-z])error: ' "$T/$1.log" |
	    grep -vE 'store: commit failed: .*(MDB_MAP_FULL|No space left)' |
	    head -n 3)
	[ -z "$bad" ] || fail "$1 logged unexpected errors: $bad"
}

# --- the map fills up ------------------------------------------------

pid=${RELAY_PID[partner.test]}
stream local partner.test dave@partner.test bob@partner.test "$bdev" \
    "$bbox" $STREAM
map_acc=$(accepted_in "$T/out/local.json")
map_ref=$(refusals_in "$T/out/local.json") || exit 1
[ "$map_acc" -ge 20 ] || fail "only $map_acc envelopes fit in a 1 MiB map"
[ "$map_ref" -ge 1 ] || fail "a 1 MiB map took $STREAM envelopes of" \
    "$BODY_LEN bytes: nothing tested"
[ $((map_acc + map_ref)) -eq $STREAM ] ||
    fail "$STREAM sent, $map_acc accepted, $map_ref refused"

# Small envelopes fill the gaps the big ones left.
stream gaps partner.test dave@partner.test bob@partner.test "$bdev" \
    "$bbox" 100 20
gaps_acc=$(accepted_in "$T/out/gaps.json")
gaps_ref=$(refusals_in "$T/out/gaps.json") || exit 1
[ $((gaps_acc + gaps_ref)) -eq 100 ] ||
    fail "100 small sent, $gaps_acc accepted, $gaps_ref refused"
map_acc=$((map_acc + gaps_acc))
map_ref=$((map_ref + gaps_ref))
relay_alive partner.test || fail "partner's relay died when its map filled"
refused_send dave@partner.test bob@partner.test

IDF[erin@partner.test]=$T/id/erin@partner.test
out=$(timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "${IDF[erin@partner.test]}" \
    enrol erin@partner.test "$erin_code" --relay \
    "127.0.0.1:$(client_port partner.test)" --ca \
    "$(orgdir partner.test)/ca.crt" 2>&1)
rc=$?
case $rc in
0)	enrol_full="enrolled (it fit)"
	note_identity "${IDF[erin@partner.test]}" ;;
3)	printf '%s' "$out" | grep -q try_later ||
	    fail "enrol on a full map: status 3 but not try_later: $out"
	enrol_full="try_later" ;;
*)	fail "enrol on a full map: status $rc: $out" ;;
esac

# acme hands over to the full relay: partner refuses for now, acme keeps
# the envelopes and keeps trying.
read -r _ bbox2 <<<"$(lookup_keys bob@partner.test alice@acme.test)"
[ "$bbox2" = "$bbox" ] || fail "bob's key differs through federation"
fed_n=40
stream fed acme.test alice@acme.test bob@partner.test "$bdev" "$bbox" \
    $fed_n
[ "$(accepted_in "$T/out/fed.json")" -eq $fed_n ] ||
    fail "acme did not accept all $fed_n: $(grep -v accepted \
    "$T/out/fed.json" | head -n 3)"
wait_log acme.test 'fedout: partner.test: peer answered try_later' 1 15 ||
    fail "acme saw no try_later from the full partner"
sleep 2
fed_retry=$(log_count acme.test 'peer answered try_later')
fed_early=$(log_count acme.test 'deliver: .*via=partner.test result=accepted')
relay_alive partner.test || fail "partner's relay died under federation"

# bob fetches and acks: pages come free, acme's retries get through.
t0=$(now)
recv_json bob@partner.test $((map_acc + fed_n)) 90
fed_secs=$(since "$t0")
[ $RECV_RC -eq 0 ] || fail "bob got fewer than the $((map_acc + fed_n))" \
    "accepted: status $RECV_RC, $(grep -c . "$RECV_OUT") received:" \
    "$(tail -n 3 "$RECV_OUT.err")"
first=$RECV_OUT

EXTRA=$T/map-extra.ids
map_back=$(until_accepted dave@partner.test bob@partner.test) || exit 1
recv_json bob@partner.test 1 10
[ $RECV_RC -eq 0 ] || fail "bob's second recv: status $RECV_RC"
cat "$first" "$RECV_OUT" >"$T/out/bob-all.json"
got=$(check_delivery "$T/out/bob-all.json" \
    "$T/local.made:$T/out/local.json" "$T/gaps.made:$T/out/gaps.json" \
    "$T/fed.made:$T/out/fed.json") ||
    exit 1
[ "${RELAY_PID[partner.test]}" = "$pid" ] &&
    [ "$(ready_count partner.test)" -eq 1 ] ||
    fail "partner's relay was restarted"
only_full_errors partner.test

# The code refused for want of space still works.
if [ "$enrol_full" = try_later ]; then
	rm -f "${IDF[erin@partner.test]}"
	enrol partner.test erin@partner.test "$erin_code"
fi

echo "FIGURES map-full (1 MiB map, $STREAM of ${BODY_LEN}-byte then 100" \
    "of 20-byte bodies):" \
    "accepted_before_full=$map_acc refused_try_later=$map_ref" \
    "recovered_after=${map_back}s (after bob's fetch+ack, no restart)" \
    "enrol_on_full_map=$enrol_full"
echo "FIGURES map-full federation: acme accepted=$fed_n" \
    "try_later_answers_to_acme=$fed_retry handed_over_while_full=$fed_early" \
    "all_delivered_in=${fed_secs}s of bob fetching; bob got $got, each once"

stop_relay acme.test
stop_relay partner.test

# --- the disk fills up -------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: disk-full half: needs root to mount a tmpfs"
	echo "PASS: $TEST_NAME"
	exit 0
fi

MNT=$T/disk
mkdir "$MNT"
if ! mount -t tmpfs -o size=3m,mode=0700 sealpost-exhaust "$MNT" \
    2>"$T/mount.err"; then
	echo "SKIP: disk-full half: cannot mount a tmpfs:" \
	    "$(head -n 1 "$T/mount.err")"
	echo "PASS: $TEST_NAME"
	exit 0
fi

# Stop the relay using the tmpfs and unmount it before the usual
# clean-up removes $T.
exhaust_cleanup() {
	local rc=$? pid=${RELAY_PID[disk.test]:-}
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		unset "RELAY_PID[disk.test]"
	fi
	if mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	(exit $rc)
	cleanup
}
trap exhaust_cleanup EXIT

sed -E -i "s|^state_dir[[:space:]]*=.*|state_dir = \"$MNT/state\";|" \
    "$(conf disk.test)"
grep -q "state_dir = \"$MNT/state\"" "$(conf disk.test)" ||
    fail "cannot point disk.test's state_dir at the tmpfs"
start_relay disk.test
pid=${RELAY_PID[disk.test]}
new_user disk.test erin@disk.test
new_user disk.test frank@disk.test
read -r fdev fbox <<<"$(lookup_keys frank@disk.test erin@disk.test)"
[ -n "${fbox:-}" ] || fail "lookup of frank@disk.test found no device"

# LMDB writes its reader table through a mapping of lock.mdb: a page of
# it without blocks would be a SIGBUS on a full disk, so it has none.
read -r lsize lblocks lbsize < <(stat -c '%s %b %B' "$MNT/state/lock.mdb")
[ $((lblocks * lbsize)) -ge "$lsize" ] || fail "lock.mdb is sparse:" \
    "$lsize bytes, $((lblocks * lbsize)) allocated"

# Leave room for about a hundred envelopes.
avail=$(df -k --output=avail "$MNT" | tail -n 1 | tr -d ' ')
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 400)) \
    2>/dev/null || fail "cannot write the filler"

stream disk disk.test erin@disk.test frank@disk.test "$fdev" "$fbox" \
    $STREAM
disk_acc=$(accepted_in "$T/out/disk.json")
disk_ref=$(refusals_in "$T/out/disk.json") || exit 1
[ "$disk_acc" -ge 10 ] || fail "only $disk_acc envelopes fit in 400 KiB"
[ "$disk_ref" -ge 1 ] || fail "the disk never filled: nothing tested"
[ $((disk_acc + disk_ref)) -eq $STREAM ] ||
    fail "$STREAM sent, $disk_acc accepted, $disk_ref refused"
relay_alive disk.test || fail "disk.test's relay died on a full disk"
grep -q 'No space left on device' "$T/disk.test.log" ||
    fail "disk.test did not log the full disk"
refused_send erin@disk.test frank@disk.test

rm -f "$MNT/filler"
EXTRA=$T/disk-extra.ids
disk_back=$(until_accepted erin@disk.test frank@disk.test) || exit 1
recv_json frank@disk.test $((disk_acc + 1)) 20
[ $RECV_RC -eq 0 ] || fail "frank got fewer than the $((disk_acc + 1))" \
    "accepted: status $RECV_RC: $(tail -n 3 "$RECV_OUT.err")"
got=$(check_delivery "$RECV_OUT" "$T/disk.made:$T/out/disk.json") ||
    exit 1
[ "${RELAY_PID[disk.test]}" = "$pid" ] &&
    [ "$(ready_count disk.test)" -eq 1 ] ||
    fail "disk.test's relay was restarted"
only_full_errors disk.test

echo "FIGURES disk-full (3 MiB tmpfs, 400 KiB left):" \
    "accepted_before_full=$disk_acc refused_try_later=$disk_ref" \
    "recovered_after=${disk_back}s (after deleting the filler, no" \
    "restart); frank got $got, each once"

stop_relay disk.test
echo "PASS: $TEST_NAME"
