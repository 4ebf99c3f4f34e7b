#!/bin/bash
# The relay's -n check and start-up refuse a broken setup with a clear
# "file:line: message" (or "file: message") and status 1, and a relay
# whose port is taken exits instead of claiming to be ready.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
CONF=$(conf acme.test)
cp "$CONF" "$T/good.conf"

# check_fails WHAT REGEX: -n exits 1 and prints a line matching REGEX.
check_fails() {
	local rc
	"$RELAY_BIN" -n -c "$CONF" >"$T/out/check.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "$1: -n status $rc, want 1:" \
	    "$(cat "$T/out/check.out")"
	grep -Eq -- "$2" "$T/out/check.out" || fail "$1: no line matching" \
	    "'$2' in: $(cat "$T/out/check.out")"
	log "$1: $(head -n 1 "$T/out/check.out")"
	cp "$T/good.conf" "$CONF"
}

"$RELAY_BIN" -n -c "$CONF" >"$T/out/check.out" 2>&1 ||
    fail "devpki's config does not check: $(cat "$T/out/check.out")"

# A syntax error on line 3.
sed -i '3s/;$/ garbage garbage/' "$CONF"
check_fails "syntax error" "relay\.conf:[0-9]+: "

# Unknown setting, bad value, bad domain: each named with its line.
echo 'no_such_setting = 1;' >>"$CONF"
check_fails "unknown setting" "relay\.conf:[0-9]+: .*no_such_setting"
sed -i 's/retry_min = [0-9]*/retry_min = -5/' "$CONF"
check_fails "negative retry_min" "relay\.conf:[0-9]+: .*retry_min"
sed -i 's/^domain = .*/domain = "Not A Domain";/' "$CONF"
check_fails "bad domain" "relay\.conf:[0-9]+: .*domain"

# Missing files, and a private key others may read.
sed -i 's#peers/partner.test.crt#peers/missing.crt#' "$CONF"
check_fails "missing peer CA" "missing\.crt"
chmod 644 "$(orgdir acme.test)/relay.key"
check_fails "world-readable key" "relay\.key"
chmod 640 "$(orgdir acme.test)/relay.key"
check_fails "group-readable key" "relay\.key"
chmod 600 "$(orgdir acme.test)/relay.key"

# The relay's own certificate: another organisation's (wrong name), a
# key that does not match it, or its CA in its place.  Files are
# swapped in place so the config itself stays unchanged.
acme=$(orgdir acme.test)
cp "$acme/relay.crt" "$T/acme.crt"
cp "$acme/relay.key" "$T/acme.key"
cp "$(orgdir partner.test)/relay.crt" "$acme/relay.crt"
cp "$(orgdir partner.test)/relay.key" "$acme/relay.key"
check_fails "certificate of another domain" "does not name acme\.test"
cp "$T/acme.crt" "$acme/relay.crt"
check_fails "key of another certificate" "key values mismatch|key does not match"
cp "$T/acme.key" "$acme/relay.key"
cp "$acme/ca.crt" "$acme/relay.crt"
check_fails "CA certificate as relay certificate" "tls: "
cp "$T/acme.crt" "$acme/relay.crt"

# Several problems are all reported, then one failure.
echo 'no_such_setting = 1;' >>"$CONF"
echo 'another_unknown = 2;' >>"$CONF"
"$RELAY_BIN" -n -c "$CONF" >"$T/out/check.out" 2>&1
[ $? -eq 1 ] && grep -q no_such_setting "$T/out/check.out" &&
    grep -q another_unknown "$T/out/check.out" ||
    fail "two problems, not both reported: $(cat "$T/out/check.out")"
cp "$T/good.conf" "$CONF"

# Its client port taken by another process: it must exit non-zero and
# never log "ready".
: >"$T/out/squat.out"
"$PY" -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("bound", flush=True)
time.sleep(30)
' "$(client_port acme.test)" >"$T/out/squat.out" 2>&1 &
SQUAT=$!
track_pid $SQUAT
deadline=$((SECONDS + 10))
until grep -q bound "$T/out/squat.out"; do
	[ $SECONDS -lt $deadline ] || fail "could not occupy the port"
	sleep 0.05
done
timeout 15 "$RELAY_BIN" -c "$CONF" >"$T/acme.test.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] ||
    fail "relay with its port taken: status $rc (124 = still running)"
[ "$(ready_count acme.test)" -eq 0 ] ||
    fail "relay with its port taken logged ready"
log "port taken: status $rc: $(grep -E '^(error|warn)' \
    "$T/acme.test.log" | head -n 1)"
kill "$SQUAT"
wait "$SQUAT" 2>/dev/null

# And with the port free it starts, and SIGTERM ends it with status 0.
start_relay acme.test
stop_relay acme.test
echo "PASS: $TEST_NAME"
