#!/bin/bash
# The relay's account.  Started as root with 'user' set, it binds its
# listeners, reads its key and opens its store, then runs as that user
# for good (no way back to root, no capability left) and still serves
# devices and partners.  Start-up refuses, with a clear message and
# status 1, a 'user' it cannot become, an unknown user or group, a key
# file others may read or that belongs to another user, and a state
# directory that is someone else's or that others may write.
#
# The drop itself needs root: run otherwise, those parts print SKIP and
# the refusals are checked as the user running the test.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
CONF=$(conf acme.test)
DIR=$(orgdir acme.test)
cp "$CONF" "$T/good.conf"

# The partner serves the delivery checks at the end; started now, its
# ports are not left free for another test to take meanwhile.
start_relay partner.test

# expect_refusal WHAT REGEX CONF [PREFIX...]: the relay, run as PREFIX
# says, exits 1 without ever being ready and says something matching
# REGEX.  "-n" as the first PREFIX word checks the file instead.
expect_refusal() {
	local what=$1 re=$2 cf=$3 rc n=
	shift 3
	[ "${1:-}" = -n ] && { n=-n; shift; }
	timeout 15 "$@" "$RELAY_BIN" $n -c "$cf" >"$T/out/refusal.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "$what: status $rc, want 1:" \
	    "$(head -n 5 "$T/out/refusal.out")"
	! grep -q 'info: relay: ready' "$T/out/refusal.out" ||
	    fail "$what: the relay got ready"
	grep -Eq -- "$re" "$T/out/refusal.out" || fail "$what: no line" \
	    "matching '$re' in: $(cat "$T/out/refusal.out")"
	log "$what: $(grep -Ev '^warn: relay: running as root' \
	    "$T/out/refusal.out" | head -n 1)"
}

# conf_line FILE LINE: add a top-level setting (after the others).
conf_line() { printf '%s\n' "$2" >>"$1"; }

# --- refusals that need no root -----------------------------------------
#
# As root they run as nobody, in a copy of acme's directory that nobody
# owns; otherwise as the user running the test, in acme's own.

if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	chmod 711 "$T"
	cp -a "$DIR" "$T/nr"
	chown -R nobody:nogroup "$T/nr"
	NR=$T/nr
else
	AS=()
	NR=$DIR
fi
NCONF=$NR/relay.conf
cp "$NCONF" "$T/nr.conf"
ME=$("${AS[@]}" id -un)
OTHER=nobody
[ "$ME" = nobody ] && OTHER=daemon
getent passwd "$OTHER" >/dev/null || fail "no account $OTHER to name"

# 'user' is someone else and we are not root: neither the daemon nor
# an operator command may run (the latter would make files as us).
conf_line "$NCONF" "user = \"$OTHER\";"
"${AS[@]}" "$RELAY_BIN" -n -c "$NCONF" >"$T/out/check.out" 2>&1 ||
    fail "'user = $OTHER' does not check: $(cat "$T/out/check.out")"
expect_refusal "user set, not root" \
    "'user' is $OTHER, but this runs as $ME" "$NCONF" "${AS[@]}"
"${AS[@]}" "$RELAY_BIN" -c "$NCONF" user list >"$T/out/list.out" 2>&1 &&
    fail "user list ran with 'user' set to another account"
grep -q "'user' is $OTHER, but this runs as $ME" "$T/out/list.out" ||
    fail "user list refused without saying why: $(cat "$T/out/list.out")"
[ ! -e "$NR/state" ] || fail "a refused start left $NR/state behind"
cp "$T/nr.conf" "$NCONF"

# Unknown user or group, or a group without a user: file:line errors.
conf_line "$NCONF" 'user = "no-such-user-sp";'
expect_refusal "unknown user (-n)" \
    "relay\.conf:[0-9]+: 'user': no such user 'no-such-user-sp'" \
    "$NCONF" -n "${AS[@]}"
expect_refusal "unknown user" "no such user 'no-such-user-sp'" "$NCONF" \
    "${AS[@]}"
cp "$T/nr.conf" "$NCONF"
conf_line "$NCONF" "user = \"$ME\";"
conf_line "$NCONF" 'group = "no-such-group-sp";'
expect_refusal "unknown group" \
    "relay\.conf:[0-9]+: 'group': no such group 'no-such-group-sp'" \
    "$NCONF" -n "${AS[@]}"
cp "$T/nr.conf" "$NCONF"
conf_line "$NCONF" "group = \"$("${AS[@]}" id -gn)\";"
expect_refusal "group without user" "'group' is set without 'user'" \
    "$NCONF" -n "${AS[@]}"
cp "$T/nr.conf" "$NCONF"
conf_line "$NCONF" 'user = "root";'
expect_refusal "user root" "'user': 'root' is root" "$NCONF" -n \
    "${AS[@]}"
cp "$T/nr.conf" "$NCONF"

# A key its group or the world may read.
chmod 644 "$NR/relay.key"
expect_refusal "world-readable key" "key file .*relay\.key is readable" \
    "$NCONF" "${AS[@]}"
chmod 640 "$NR/relay.key"
expect_refusal "group-readable key" "key file .*relay\.key is readable" \
    "$NCONF" "${AS[@]}"
chmod 600 "$NR/relay.key"

# A state directory its group may write: refused, and left alone.
"${AS[@]}" mkdir -m 0770 "$NR/state" || fail "cannot make $NR/state"
expect_refusal "group-writable state dir" \
    "state directory .*/state is writable by its group or others" \
    "$NCONF" "${AS[@]}"
[ ! -e "$NR/state/data.mdb" ] || fail "a store was opened in $NR/state"
"${AS[@]}" chmod 0707 "$NR/state"
expect_refusal "world-writable state dir" "is writable by" "$NCONF" \
    "${AS[@]}"
"${AS[@]}" rmdir "$NR/state"

# 'user' naming the account it already runs as is no refusal: there
# is nothing to drop (a supervisor started it as that user).
conf_line "$NCONF" "user = \"$ME\";"
READY_SEEN[acme.test]=$(ready_count acme.test)
echo "=== start as $ME $(date +%T.%N)" >>"$T/acme.test.log"
"${AS[@]}" "$RELAY_BIN" -c "$NCONF" >>"$T/acme.test.log" 2>&1 &
RELAY_PID[acme.test]=$!
wait_ready acme.test
wait_log acme.test "info: relay: running as user=$ME uid=" 1 5 ||
    fail "relay started as $ME with 'user = $ME' did not say so"
stop_relay acme.test
cp "$T/nr.conf" "$NCONF"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $TEST_NAME: dropping root (not root)"
	echo "PASS: $TEST_NAME (refusals only)"
	exit 0
fi

# --- as root --------------------------------------------------------------

# A key that belongs to another unprivileged user, who could swap it.
chown daemon "$DIR/relay.key"
expect_refusal "key of another user" \
    "relay\.conf:[0-9]+: key file .*relay\.key belongs to daemon" \
    "$CONF" -n
chown root "$DIR/relay.key"

# nobody must reach the state directory through acme's (root's, 0700).
chmod 711 "$T/pki" "$DIR"
conf_line "$CONF" 'user = "nobody";'
conf_line "$CONF" 'group = "nogroup";'
cp "$CONF" "$T/nobody.conf"
NOBODY_UID=$(id -u nobody)
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)

# The key may also belong to the user the relay becomes.
chown nobody "$DIR/relay.key"
"$RELAY_BIN" -n -c "$CONF" >"$T/out/check.out" 2>&1 ||
    fail "a key of 'user' nobody does not check: $(cat "$T/out/check.out")"
chown root "$DIR/relay.key"

start_relay acme.test
PID=${RELAY_PID[acme.test]}
wait_log acme.test \
    "info: relay: running as user=nobody uid=$NOBODY_UID gid=$NOGROUP_GID" \
    1 5 || fail "acme did not log 'running as user=nobody ...'"
[ "$(log_count acme.test 'running as root')" -eq 0 ] ||
    fail "acme warned about keeping root although 'user' is set"

# Every id is nobody's, no supplementary group, no capability left.
st=/proc/$PID/status
want_ids() {
	local field=$1 id=$2 got
	got=$(awk -v f="$field:" '$1 == f { print $2, $3, $4, $5 }' "$st")
	[ "$got" = "$id $id $id $id" ] ||
	    fail "$field of the relay is '$got', want $id four times"
}
want_ids Uid "$NOBODY_UID"
want_ids Gid "$NOGROUP_GID"
[ "$(awk '$1 == "Groups:" { $1 = ""; print }' "$st" | tr -d ' ')" = \
    "$NOGROUP_GID" ] ||
    fail "supplementary groups: $(grep '^Groups:' "$st")"
for cap in CapPrm CapEff CapAmb; do
	grep -Eq "^$cap:[[:space:]]+0+$" "$st" ||
	    fail "relay keeps capabilities: $(grep "^$cap:" "$st")"
done
log "relay $PID: $(grep -E '^(Uid|Gid|Groups|CapEff):' "$st" |
    tr -s '\t\n' '  ')"

# The state directory and the store's files are nobody's.
for f in "$DIR/state" "$DIR/state/data.mdb" "$DIR/state/lock.mdb"; do
	[ "$(stat -c %U:%G "$f")" = nobody:nogroup ] ||
	    fail "$f belongs to $(stat -c %U:%G "$f"), want nobody:nogroup"
done

# Serving as nobody: enrolment (the operator's "user add" runs as root
# and switches to nobody for the store), local and federated delivery,
# acks.  Every write goes through the descriptors opened before the
# switch, LMDB's reader table included.
new_user acme.test alice@acme.test
new_user acme.test carol@acme.test
new_user partner.test bob@partner.test
[ "$(stat -c %U "$DIR/state/data.mdb")" = nobody ] ||
    fail "user add as root left data.mdb to $(stat -c %U \
    "$DIR/state/data.mdb")"

send alice@acme.test carol@acme.test --text "local, through nobody"
id1=${SENT_IDS[0]}
send alice@acme.test bob@partner.test --text "out, from nobody"
id2=${SENT_IDS[0]}
send bob@partner.test alice@acme.test --text "in, to nobody"
id3=${SENT_IDS[0]}
recv_expect carol@acme.test 15 "$id1" alice@acme.test \
    "local, through nobody"
recv_expect bob@partner.test 15 "$id2" alice@acme.test "out, from nobody"
recv_expect alice@acme.test 15 "$id3" bob@partner.test "in, to nobody"
recv_none carol@acme.test
recv_none alice@acme.test

# It still is nobody, and SIGTERM still ends it with status 0.
want_ids Uid "$NOBODY_UID"
stop_relay acme.test

# And it comes back with everything it committed.
start_relay acme.test
send carol@acme.test alice@acme.test --text "after a restart as nobody"
id4=${SENT_IDS[0]}
recv_expect alice@acme.test 15 "$id4" carol@acme.test \
    "after a restart as nobody"
stop_relay acme.test

# Root without 'user' on nobody's state directory: refused (root would
# otherwise make files nobody's relay cannot open), after a warning
# that it would keep root.
cp "$T/good.conf" "$CONF"
expect_refusal "root on nobody's state dir" \
    "state directory .*/state belongs to nobody" "$CONF"
grep -q "warn: relay: running as root" "$T/out/refusal.out" ||
    fail "root without 'user' gave no warning about keeping root"

# A store file root made, in nobody's directory: refused, as nobody
# could not write it.
cp "$T/nobody.conf" "$CONF"
chown root "$DIR/state/data.mdb"
expect_refusal "root's data.mdb" \
    "cannot open the store in .*/state as user nobody" "$CONF"
chown nobody "$DIR/state/data.mdb"

# A state directory the relay creates goes to the user at once.
rm -rf "$DIR/state.new"
sed -i 's#^state_dir = .*#state_dir = "state.new";#' "$CONF"
start_relay acme.test
[ "$(stat -c '%U:%G %a' "$DIR/state.new")" = "nobody:nogroup 700" ] ||
    fail "new state dir: $(stat -c '%U:%G %a' "$DIR/state.new")"
stop_relay acme.test

echo "PASS: $TEST_NAME"
