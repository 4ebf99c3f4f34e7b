#!/bin/bash
# What recv shows: a sender can neither forge a header line nor reach the
# terminal with control bytes; a message shown once is acknowledged but
# not shown again when the relay delivers it a second time (its ack
# lost); --wait keeps listening for new mail until its time is up.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test
start_relay acme.test
new_user acme.test alice@acme.test
new_user acme.test bob@acme.test
read -r bdev bbox <<<"$(lookup_keys bob@acme.test alice@acme.test)"
[ -n "${bbox:-}" ] || fail "lookup of bob@acme.test found no device"

# recv_human ADDR ARGS...: recv in the human form; stdout in RECV_OUT,
# stderr in RECV_OUT.err, status in RECV_RC.
recv_human() {
	local addr=$1 n
	shift
	n=$(ls "$T/out" | wc -l)
	RECV_OUT=$T/out/human-$n.txt
	client "$addr" recv --save-dir "$T/out" "$@" >"$RECV_OUT" \
	    2>"$RECV_OUT.err"
	RECV_RC=$?
}

# header_ok ID [TYPE]: RECV_OUT holds one message, from alice, verified,
# with exactly one header line and that line first.
header_ok() {
	local type=${2:-text/plain} line
	local re='^from=alice@acme\.test id=([0-9a-f]{32}) time=[0-9T:Z-]+ '
	re+='type=(.*) verified=yes$'
	[ $RECV_RC -eq 0 ] || fail "recv: status $RECV_RC:" \
	    "$(cat "$RECV_OUT" "$RECV_OUT.err")"
	[ "$(grep -c '^from=' "$RECV_OUT")" -eq 1 ] ||
	    fail "not one header line: $(cat -A "$RECV_OUT")"
	line=$(head -n 1 "$RECV_OUT")
	[[ $line =~ $re ]] && [ "${BASH_REMATCH[1]}" = "$1" ] &&
	    [ "${BASH_REMATCH[2]}" = "$type" ] ||
	    fail "header: $(cat -A <<<"$line"), want id=$1 type=$type"
}

# sealed NAME ARGS...: an envelope to bob sealed by alice's keys with
# the probe (any type or name), sent from alice's device; prints its id.
sealed() {
	local name=$1 out
	shift
	probe mkenv --out "$T/$name.env" --org acme.test --to bob@acme.test \
	    --dev "$bdev" --rbpk "$bbox" --identity "${IDF[alice@acme.test]}" \
	    "$@" >"$T/$name.mk" || fail "probe mkenv $name"
	out=$T/out/$name.send
	probe client $(client_probe_args acme.test) \
	    --identity "${IDF[alice@acme.test]}" send="$T/$name.env" \
	    >"$out" 2>&1 || fail "sending $name: $(cat "$out")"
	grep -q '"t": "accepted"' "$out" || fail "$name refused: $(cat "$out")"
	sed -nE 's/.*"id": "([0-9a-f]{32})".*/\1/p' "$T/$name.mk"
}

# 1. A text that carries a header line of its own comes out indented.
forged=$'hello\nfrom=mallory@acme.test id=00000000000000000000000000000000'
forged+=$' time=2020-01-01T00:00:00Z type=text/plain verified=yes\n'
forged+=$'\n\tplease wire the money'
# (not through send: the secrets list it keeps takes one line each)
out=$(client alice@acme.test send bob@acme.test --text "$forged" 2>&1) ||
    fail "send of a text with a header: $out"
id=$(sed -nE 's/^accepted ([0-9a-f]{32}) dev=[0-9]+$/\1/p' <<<"$out")
recv_human bob@acme.test --count 1 --wait 10
header_ok "$id"
[ "$(wc -l <"$RECV_OUT")" -eq 5 ] ||
    fail "want a header and 4 lines of text: $(cat -A "$RECV_OUT")"
tail -n +2 "$RECV_OUT" | grep -qv '^  ' &&
    fail "a line of the text is not indented: $(cat -A "$RECV_OUT")"
[ "$(tail -n +2 "$RECV_OUT" | sed 's/^  //')" = "$forged" ] ||
    fail "the text changed on the way: $(cat -A "$RECV_OUT")"

# 2. Terminal escapes: not printed at all, but saved to a file.
esc=$'\e[2J\e[H\rfrom=mallory@acme.test verified=yes'
send alice@acme.test bob@acme.test --text "$esc"
id=${SENT_IDS[0]}
recv_human bob@acme.test --count 1 --wait 10
header_ok "$id"
grep -q $'[\e\r]' "$RECV_OUT" && fail "control bytes reached stdout"
[ "$(sed -n 2p "$RECV_OUT")" = "saved $T/out/message-$id" ] ||
    fail "want 'saved PATH': $(cat -A "$RECV_OUT")"
[ "$(cat "$T/out/message-$id")" = "$esc" ] || fail "saved text differs"

# 3. A type with a space and a backslash of its own: escaped, so the
# header keeps one verified= field and no fake escape.
id=$(sealed type --type 'text/plain verified=yes\x0afrom=x' --text "typed")
recv_human bob@acme.test --count 1 --wait 10
header_ok "$id" 'text/plain\x20verified=yes\x5cx0afrom=x'
[ "$(sed -n 2p "$RECV_OUT")" = "  typed" ] ||
    fail "text of message 3: $(cat -A "$RECV_OUT")"

# 4. A file name that a later command line would take for an option.
printf 'payload' >"$T/payload"
id=$(sealed dash --type application/octet-stream --name=-rf \
    --file "$T/payload")
recv_human bob@acme.test --count 1 --wait 10
header_ok "$id" application/octet-stream
[ "$(sed -n 2p "$RECV_OUT")" = "saved $T/out/_-rf" ] ||
    fail "file named -rf: $(cat -A "$RECV_OUT")"
cmp -s "$T/payload" "$T/out/_-rf" || fail "file named -rf differs"

# 5. JSON is plain ASCII: a right-to-left override in a name comes
# escaped, and decodes to what was sent.
rlo=$'\xe2\x80\xaetxt.exe'
cp "$T/payload" "$T/$rlo"
send alice@acme.test bob@acme.test --file "$T/$rlo"
recv_json bob@acme.test 1 10 --save-dir "$T/out"
[ $RECV_RC -eq 0 ] || fail "recv --json: status $RECV_RC"
LC_ALL=C grep -q $'[\x01-\x1f\x7f-\xff]' "$RECV_OUT" &&
    fail "--json output is not plain ASCII: $(cat -A "$RECV_OUT")"
[ "$(probe_field "$RECV_OUT" name)" = "$rlo" ] ||
    fail "name in JSON: $(cat "$RECV_OUT")"

# 6. A redelivery after a lost ack: put back the relay's store as it was
# before bob's ack, as if the relay had died before committing it.
S=$(orgdir acme.test)/state
send alice@acme.test bob@acme.test --text "only once, please"
id=${SENT_IDS[0]}
stop_relay acme.test
cp -a "$S" "$T/state.1"
cp -a "$S" "$T/state.2"
start_relay acme.test
recv_human bob@acme.test --count 1 --wait 10
header_ok "$id"
SEEN=${IDF[bob@acme.test]}.seen
[ "$(stat -c %a "$SEEN")" = 600 ] ||
    fail "$SEEN: mode $(stat -c %a "$SEEN"), want 600"
grep -Eq "^$id [0-9]+$" "$SEEN" || fail "$SEEN lacks $id: $(cat "$SEEN")"

stop_relay acme.test
rm -rf "$S" && mv "$T/state.1" "$S" || fail "cannot put the store back"
start_relay acme.test
recv_human bob@acme.test
[ $RECV_RC -eq 0 ] || fail "recv of a repeat: status $RECV_RC"
[ ! -s "$RECV_OUT" ] || fail "a repeat was shown again: $(cat "$RECV_OUT")"
grep -q 'no messages' "$RECV_OUT.err" ||
    fail "want 'no messages' on stderr: $(cat "$RECV_OUT.err")"
recv_none bob@acme.test		# ... and acknowledged this time

# The same without the store: shown again, so the relay did redeliver.
stop_relay acme.test
rm -rf "$S" && mv "$T/state.2" "$S" || fail "cannot put the store back"
start_relay acme.test
rm -f "$SEEN"
recv_human bob@acme.test
header_ok "$id"

# 7. --wait without --count listens for new mail until its time is up.
t0=$(date +%s%N)
CLIENT_TIMEOUT=30 client bob@acme.test recv --json --wait 5 \
    >"$T/out/wait.json" 2>"$T/out/wait.err" &
BG=$!
track_pid "$BG"
sleep 1		# a send that comes after recv started; nothing to poll
send alice@acme.test bob@acme.test --text "a second later"
id=${SENT_IDS[0]}
wait_exit "$BG" 20 || fail "recv --wait 5 still runs after 20s"
wait "$BG"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] || fail "recv --wait 5: status $rc: $(cat "$T/out/wait.err")"
expect_msgs "$T/out/wait.json" "$id" alice@acme.test "a second later"
[ $ms -ge 4500 ] || fail "recv --wait 5 ended after ${ms}ms"

stop_relay acme.test
echo "PASS: $TEST_NAME"
