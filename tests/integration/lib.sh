# lib.sh - helpers for Sealpost's integration tests (sourced, bash).
#
# Every test gets its own directory, its own free loopback ports and its
# own relays, which it starts in the background and stops by PID on every
# exit path.  On failure the directory is kept and the log tails printed.
#
# Environment: SEALPOST_BUILD (sealpost-relay, sealpost), SEALPOST_SOURCE
# (tools/devpki); KEEP=1 keeps the directory even after a pass.

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEALPOST_SOURCE=${SEALPOST_SOURCE:-$(cd "$LIB_DIR/../.." && pwd)}
SEALPOST_BUILD=${SEALPOST_BUILD:-$SEALPOST_SOURCE/build}

RELAY_BIN=$SEALPOST_BUILD/sealpost-relay
CLIENT_BIN=$SEALPOST_BUILD/sealpost
DEVPKI=$SEALPOST_SOURCE/tools/devpki
PY=/usr/bin/python3
PROBE=$LIB_DIR/probe.py

TEST_NAME=$(basename "$0" .sh)

# Bounds (seconds) on every wait.
READY_TIMEOUT=${READY_TIMEOUT:-15}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-30}

declare -A RELAY_PID=()		# org -> pid of its running relay
declare -A READY_SEEN=()	# org -> ready lines in its log at start
declare -A ORG_INDEX=()		# org -> position given to devpki
declare -A IDF=()		# address -> identity file
EXTRA_PIDS=()			# other background processes (track_pid)
ORGS=()
BASE_PORT=
SENT_IDS=()			# ids printed by the last send
RECV_RC=0
RECV_OUT=

log() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }

# fail WHAT: the one line a reader needs, then leave (the trap cleans up).
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	[ -d "${T:-}" ] && printf 'FAIL: %s\n' "$*" >>"$T/FAILED"
	exit 1
}

# True while pid runs (a zombie, exited but not yet reaped, does not).
proc_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Wait up to $2 seconds for pid $1 to exit; 0 if it did.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while proc_alive "$pid"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	return 0
}

# kill_tree PID: end PID and the processes it started, children first
# (a background shell function is a subshell with its command below it).
kill_tree() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		kill_tree "$c"
	done
	kill -TERM "$1" 2>/dev/null
}

cleanup() {
	local rc=$? org pid f
	trap - EXIT

	for pid in "${EXTRA_PIDS[@]}"; do
		kill_tree "$pid"
		wait "$pid" 2>/dev/null
	done
	for org in "${!RELAY_PID[@]}"; do
		pid=${RELAY_PID[$org]}
		kill -TERM "$pid" 2>/dev/null
		wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done

	[ $rc -ne 0 ] || check_logs_clean || rc=1

	# A sanitizer report anywhere fails the test, whatever else passed.
	f=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$T"/*.log "$T"/out/*.err 2>/dev/null | tr '\n' ' ')
	if [ $rc -eq 0 ] && [ -n "$f" ]; then
		printf 'FAIL: sanitizer report in %s\n' "$f" >&2
		rc=1
	fi

	if [ $rc -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
		return 0
	fi
	if [ $rc -ne 0 ]; then
		echo "--- $TEST_NAME failed (status $rc); kept $T" >&2
		for f in "$T"/*.log; do
			[ -e "$f" ] || continue
			echo "--- tail of $f" >&2
			tail -n 40 "$f" >&2
		done
	else
		echo "--- kept $T" >&2
	fi
	exit $rc
}

T=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-$TEST_NAME.XXXXXX") ||
    { echo "FAIL: mktemp" >&2; exit 1; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -m 0700 "$T/id" "$T/out"

[ -x "$RELAY_BIN" ] || fail "no relay binary at $RELAY_BIN"
[ -x "$CLIENT_BIN" ] || fail "no client binary at $CLIENT_BIN"
[ -x "$DEVPKI" ] || fail "no devpki at $DEVPKI"

# note_secret TEXT: something no relay may ever log (an enrolment code,
# a message text, a secret key); checked at the end of every test.
note_secret() {
	[ ${#1} -ge 8 ] && printf '%s\n' "$1" >>"$T/secrets.txt"
	return 0
}

# check_logs_clean: no relay log holds a noted secret.
check_logs_clean() {
	local org
	[ -s "$T/secrets.txt" ] || return 0
	for org in "${ORGS[@]}"; do
		[ -f "$T/$org.log" ] || continue
		if grep -qF -f "$T/secrets.txt" "$T/$org.log"; then
			printf 'FAIL: %s log holds a code, key or payload:\n' \
			    "$org" >&2
			grep -F -f "$T/secrets.txt" "$T/$org.log" |
			    head -n 1 >&2
			return 1
		fi
	done
	return 0
}

# track_pid PID: a background process the cleanup must end.
track_pid() { EXTRA_PIDS+=("$1"); }

# --- organisations and relays -------------------------------------------

# setup_orgs ORG...: certificates and configs for each, on free ports.
setup_orgs() {
	local i=0 org
	BASE_PORT=$("$PY" "$PROBE" ports $#) || fail "no free ports"
	"$DEVPKI" --host 127.0.0.1 --base-port "$BASE_PORT" "$T/pki" "$@" \
	    >"$T/devpki.log" 2>&1 || fail "devpki failed: $(tail -n 5 \
	    "$T/devpki.log")"
	for org in "$@"; do
		[ -f "$T/pki/$org/relay.conf" ] ||
		    fail "devpki made no $T/pki/$org/relay.conf"
		ORG_INDEX[$org]=$i
		ORGS+=("$org")
		# Quick retries: tests stop and start peers on purpose.
		set_conf "$org" retry_min 1
		set_conf "$org" retry_max 2
		i=$((i + 1))
	done
}

orgdir() { echo "$T/pki/$1"; }
conf() { echo "$T/pki/$1/relay.conf"; }
client_port() { echo $((BASE_PORT + 20 * ORG_INDEX[$1])); }
fed_port() { echo $((BASE_PORT + 20 * ORG_INDEX[$1] + 1)); }

# set_conf ORG NAME VALUE: change a numeric setting such as retry_min.
# A setting the generated file lacks is added to its federation group
# when it is a federation one, else at the top level.
set_conf() {
	local f s='[:space:]'
	f=$(conf "$1")
	if grep -Eq "(^|[$s{;])$2[$s]*[=:]" "$f"; then
		sed -E -i \
		    "s/(^|[$s{;])($2[$s]*[=:][$s]*)[^;,$s]+/\1\2$3/" "$f"
	else
		case $2 in
		retry_*|connect_timeout)
			sed -E -i \
			    "s/(federation[$s]*[=:][$s]*\{)/\1 $2 = $3;/" \
			    "$f" ;;
		*)
			echo "$2 = $3;" >>"$f" ;;
		esac
	fi
	grep -Eq "$2[[:space:]]*[=:][[:space:]]*$3([^0-9]|$)" "$f" ||
	    fail "could not set $2 = $3 in $f"
}

# drop_peer ORG PEER: ORG's config no longer lists PEER.
drop_peer() {
	"$PY" - "$(conf "$1")" "$2" <<'PYEOF' || fail "cannot drop $2 from $1"
import re, sys
path, peer = sys.argv[1], sys.argv[2]
text = open(path).read()
pat = r'\{[^{}]*domain\s*[=:]\s*"%s"[^{}]*\}' % re.escape(peer)
new, n = re.subn(pat, "", text)
if n != 1:
    sys.exit(1)
new = re.sub(r",\s*,", ",", new)
new = re.sub(r"\(\s*,", "(", new)
new = re.sub(r",\s*\)", "\n)", new)
open(path, "w").write(new)
PYEOF
}

ready_count() {
	local n
	n=$(grep -c 'info: relay: ready' "$T/$1.log" 2>/dev/null)
	echo "${n:-0}"
}

# start_relay ORG: start it in the background and wait until it is ready.
start_relay() {
	local org=$1
	[ -z "${RELAY_PID[$org]:-}" ] || fail "relay $org already running"
	READY_SEEN[$org]=$(ready_count "$org")
	echo "=== start $(date +%T.%N)" >>"$T/$org.log"
	"$RELAY_BIN" -c "$(conf "$org")" ${RELAY_FLAGS:-} >>"$T/$org.log" 2>&1 &
	RELAY_PID[$org]=$!
	wait_ready "$org"
}

# wait_ready ORG: a new "ready" line in its log, within READY_TIMEOUT.
wait_ready() {
	local org=$1 pid=${RELAY_PID[$1]} deadline=$((SECONDS + READY_TIMEOUT))
	while [ "$(ready_count "$org")" -le "${READY_SEEN[$org]}" ]; do
		if ! proc_alive "$pid"; then
			wait "$pid"
			local rc=$?
			unset "RELAY_PID[$org]"
			fail "relay $org exited (status $rc) before ready"
		fi
		[ $SECONDS -ge $deadline ] &&
		    fail "relay $org not ready after ${READY_TIMEOUT}s"
		sleep 0.05
	done
}

# stop_relay ORG: SIGTERM, which must end it with status 0.
stop_relay() {
	local org=$1 pid=${RELAY_PID[$1]:?relay $1 not running} rc
	kill -TERM "$pid"
	wait_exit "$pid" "$STOP_TIMEOUT" ||
	    fail "relay $org still running ${STOP_TIMEOUT}s after SIGTERM"
	wait "$pid"
	rc=$?
	unset "RELAY_PID[$org]"
	[ $rc -eq 0 ] || fail "relay $org exited with status $rc on SIGTERM"
}

# kill_relay ORG: SIGKILL, no chance to commit or clean up.
kill_relay() {
	local org=$1 pid=${RELAY_PID[$1]:?relay $1 not running}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	unset "RELAY_PID[$org]"
}

relay_alive() {
	[ -n "${RELAY_PID[$1]:-}" ] && proc_alive "${RELAY_PID[$1]}"
}

# log_count ORG REGEX: matching lines in its log so far.
log_count() {
	local n
	n=$(grep -Ec -- "$2" "$T/$1.log" 2>/dev/null)
	echo "${n:-0}"
}

# wait_log ORG REGEX MIN TIMEOUT: until at least MIN lines match.
wait_log() {
	local deadline=$((SECONDS + $4))
	while [ "$(log_count "$1" "$2")" -lt "$3" ]; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	return 0
}

# --- users and clients --------------------------------------------------

# add_user ORG ADDR: create the user, print its one-time code.
add_user() {
	local out code
	out=$("$RELAY_BIN" -c "$(conf "$1")" user add "$2" 2>>"$T/admin.log") ||
	    { echo "user add $2 failed: $(tail -n 3 "$T/admin.log")" >&2;
	    return 1; }
	code=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1)
	[ -n "$code" ] || { echo "user add $2 printed no code" >&2; return 1; }
	note_secret "$code"
	printf '%s\n' "$code"
}

# enrol ORG ADDR CODE: enrol a new device into $T/id/ADDR.
enrol() {
	local org=$1 addr=$2 code=$3 out rc
	IDF[$addr]=$T/id/$addr
	out=$(timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "${IDF[$addr]}" \
	    enrol "$addr" "$code" --relay "127.0.0.1:$(client_port "$org")" \
	    --ca "$(orgdir "$org")/ca.crt" 2>"$T/out/enrol-$addr.err")
	rc=$?
	[ $rc -eq 0 ] || fail "enrol $addr: status $rc: $out" \
	    "$(cat "$T/out/enrol-$addr.err")"
	printf '%s\n' "$out" | grep -Eq "^enrolled $addr dev=[0-9]+$" ||
	    fail "enrol $addr printed '$out', not 'enrolled $addr dev=N'"
	note_identity "${IDF[$addr]}"
}

# note_identity FILE: its secret keys must never show in a log.
note_identity() {
	local k
	for k in $(grep -oE '_secret[[:space:]]*=[[:space:]]*"[0-9a-f]+"' \
	    "$1" | sed -E 's/.*"([0-9a-f]+)"/\1/'); do
		note_secret "$k"
	done
}

# new_user ORG ADDR: add_user and enrol its first device.
new_user() {
	local code
	code=$(add_user "$1" "$2") || fail "user add $2 on $1"
	enrol "$1" "$2" "$code"
}

# client ADDR ARGS...: run the client as ADDR's device, bounded.
client() {
	local addr=$1
	shift
	timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" -i "${IDF[$addr]}" "$@"
}

# send FROM TO ARGS...: must be accepted; ids go to SENT_IDS.
send() {
	local from=$1 to=$2 out rc a prev=
	shift 2
	for a in "$@"; do
		[ "$prev" = --text ] && note_secret "$a"
		prev=$a
	done
	out=$(client "$from" send "$to" "$@" 2>"$T/out/send.err")
	rc=$?
	[ $rc -eq 0 ] || fail "send $from -> $to: status $rc:" \
	    "$out $(cat "$T/out/send.err")"
	mapfile -t SENT_IDS < <(printf '%s\n' "$out" |
	    sed -nE 's/^accepted ([0-9a-f]{32}) dev=[0-9]+$/\1/p')
	[ ${#SENT_IDS[@]} -ge 1 ] ||
	    fail "send $from -> $to printed no 'accepted ID dev=N': $out"
	printf '%s %s %s\n' "$from" "$to" "${SENT_IDS[*]}" >>"$T/sent.txt"
}

# recv_json ADDR COUNT WAIT [ARGS...]: run recv --json; output file in
# RECV_OUT, status in RECV_RC (4 = fewer than COUNT came).
recv_json() {
	local addr=$1 count=$2 wait=$3 n
	shift 3
	n=$(ls "$T/out" | wc -l)
	RECV_OUT=$T/out/recv-$addr-$n.json
	CLIENT_TIMEOUT=$((wait + 20)) client "$addr" recv --json \
	    --count "$count" --wait "$wait" "$@" >"$RECV_OUT" \
	    2>"$RECV_OUT.err"
	RECV_RC=$?
}

# expect_msgs FILE [VERIFIED] ID FROM TEXT [ID FROM TEXT ...]: the JSON
# lines in FILE are exactly these messages, in any order.  ID "-" matches
# any id; TEXT "file:PATH" means an attachment equal to PATH's bytes.
# VERIFIED is "verified=yes" (default: also checked) or "verified=any".
expect_msgs() {
	local file=$1 why
	shift
	why=$("$PY" - "$file" "$@" <<'EOF'
import json, sys

path, args = sys.argv[1], sys.argv[2:]
check_verified = True
if args and args[0].startswith("verified="):
    check_verified = args[0] == "verified=yes"
    args = args[1:]
want = [tuple(args[i:i + 3]) for i in range(0, len(args), 3)]
got = []
for n, line in enumerate(open(path), 1):
    line = line.strip()
    if not line:
        continue
    try:
        m = json.loads(line)
    except ValueError:
        print("line %d is not JSON: %r" % (n, line[:80]))
        sys.exit(1)
    if not isinstance(m, dict):
        print("line %d is not an object" % n)
        sys.exit(1)
    got.append(m)

if len(got) != len(want):
    print("got %d messages, want %d: %s" % (len(got), len(want),
          [(m.get("id"), m.get("from"), m.get("text")) for m in got]))
    sys.exit(1)

ids = [m.get("id") for m in got]
if len(set(ids)) != len(ids):
    print("the same id came twice: %s" % ids)
    sys.exit(1)

def matches(m, w):
    wid, wfrom, wtext = w
    if wid != "-" and m.get("id") != wid:
        return False
    if m.get("from") != wfrom:
        return False
    if wtext.startswith("file:"):
        f = m.get("file")
        if not isinstance(f, str):
            return False
        try:
            return open(f, "rb").read() == open(wtext[5:], "rb").read()
        except OSError:
            return False
    return m.get("text") == wtext

left = list(got)
for w in want:
    for m in left:
        if matches(m, w):
            left.remove(m)
            break
    else:
        print("no message matches id=%s from=%s text=%r; got %s" % (w[0],
              w[1], w[2][:60], [(m.get("id"), m.get("from"),
              m.get("text", m.get("file"))) for m in got]))
        sys.exit(1)

if check_verified:
    for m in got:
        if m.get("verified") not in (True, "yes"):
            print("message %s not verified: %r" % (m.get("id"),
                  m.get("verified")))
            sys.exit(1)
EOF
	) || fail "$file: $why"
}

# recv_expect ADDR WAIT [verified=..] ID FROM TEXT ...: receive exactly
# these messages (and no more: a second recv right after finds nothing).
recv_expect() {
	local addr=$1 wait=$2 n
	shift 2
	n=$#
	[ "${1:-}" = verified=yes ] || [ "${1:-}" = verified=any ] &&
	    n=$((n - 1))
	n=$((n / 3))
	recv_json "$addr" "$n" "$wait" --save-dir "$T/out"
	[ $RECV_RC -eq 0 ] || fail "recv $addr: status $RECV_RC, want $n" \
	    "messages: $(cat "$RECV_OUT" "$RECV_OUT.err" | tail -n 5)"
	expect_msgs "$RECV_OUT" "$@"
}

# recv_none ADDR: nothing (more) is waiting for ADDR.
recv_none() {
	recv_json "$1" 0 0
	[ $RECV_RC -eq 0 ] || fail "recv $1 (nothing expected): status" \
	    "$RECV_RC: $(cat "$RECV_OUT.err" | tail -n 3)"
	[ ! -s "$RECV_OUT" ] || fail "recv $1 found unexpected messages:" \
	    "$(head -c 400 "$RECV_OUT")"
}

# lookup_keys ADDR WHO: "dev box" of ADDR's first device, via WHO's relay.
lookup_keys() {
	local out
	out=$(client "$2" lookup "$1" 2>"$T/out/lookup.err") ||
	    fail "lookup $1 as $2: $(cat "$T/out/lookup.err")"
	printf '%s\n' "$out" | sed -nE \
	    's/^dev=([0-9]+) sign=[0-9a-f]{64} box=([0-9a-f]{64})$/\1 \2/p' |
	    head -n 1
}

# probe SUBCOMMAND ARGS...: run probe.py, bounded.
probe() {
	timeout 30 "$PY" "$PROBE" "$@"
}

# Arguments for probe.py to reach ORG's federation listener presenting
# CERT/KEY (default: no client certificate).
fed_probe_args() {
	local org=$1
	echo --port "$(fed_port "$org")" --ca "$(orgdir "$org")/ca.crt" \
	    --servername "$org" ${2:+--cert "$2"} ${3:+--key "$3"}
}

client_probe_args() {
	echo --port "$(client_port "$1")" --ca "$(orgdir "$1")/ca.crt" \
	    --servername "$1"
}

# expect_error_close OUT NAME...: the probe output OUT shows an "error"
# answer named one of NAME..., no other answer (but a challenge or ok),
# and then the relay closing the connection.  Prints the error's name.
expect_error_close() {
	local out=$1 why
	shift
	why=$("$PY" - "$out" "$@" <<'PYEOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
names = sys.argv[2:]
msgs = [e["msg"] for e in evs
        if e.get("event") == "recv" and isinstance(e.get("msg"), dict)]
errs = [m for m in msgs if m.get("t") == "error"]
other = [m.get("t") for m in msgs
         if m.get("t") not in ("error", "challenge", "ok")]
if other:
    print("relay answered %s" % other)
elif not errs:
    print("no error answer")
elif errs[0].get("errname") not in names:
    print("error %s, want %s" % (errs[0], " or ".join(names)))
elif not evs or evs[-1].get("event") != "closed":
    print("connection left open")
else:
    print("ok %s" % errs[0].get("errname"))
    sys.exit(0)
sys.exit(1)
PYEOF
	) || { echo "$why: $(tr '\n' ' ' <"$out")"; return 1; }
	echo "${why#ok }"
}

# jq-like: print field $2 of every JSON line in file $1 matching
# event/recv (e.g. msg.t), one per line.
probe_field() {
	"$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    v = m
    for k in sys.argv[2].split("."):
        v = v.get(k) if isinstance(v, dict) else None
    if v is not None:
        print(v)
' "$1" "$2"
}
