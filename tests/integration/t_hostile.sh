#!/bin/bash
# Hostile peers meet the relay's limits, and honest delivery goes on.
#
# acme.test runs with short deadlines (handshake 2 s, authentication
# 3 s, frame 2 s) and 4 connections per address; partner.test with a
# small accept bucket (3 at once, 1 a second).  Attackers connect from
# other loopback addresses than the devices (127.0.0.1), as other peers
# would.  Checked: a frame trickled a byte a second is closed by the
# frame deadline (after authentication too), a silent device by the
# authentication deadline, a handshake trickled in or never started by
# the handshake deadline; the fifth connection from one address is
# refused, and so is a burst of new connections over the bucket; huge
# length prefixes, huge declared counts and lengths, deep nesting,
# trailing bytes and too many messages before authentication are
# refused and closed; invalid UTF-8 and control characters in addresses
# are refused; 200 idle TLS connections cost the relay a bounded amount
# of memory; and meanwhile a message from alice reaches bob at the
# other organisation.  No latency is asserted: every deadline here is
# far below anything else that could close the connection.
. "$(dirname "$0")/lib.sh"

RELAY_FLAGS=-v		# closing reasons are debug lines
setup_orgs acme.test partner.test

# client_set ORG "NAME = VALUE; ...": settings into ORG's client group.
client_set() {
	sed -E -i "s/(client[[:space:]]*=[[:space:]]*\{)/\1 $2/" "$(conf "$1")"
	grep -q "$2" "$(conf "$1")" || fail "cannot set $2 in $1"
}
client_set acme.test "handshake_timeout = 2; auth_timeout = 3;"
client_set acme.test "frame_timeout = 2; max_per_address = 4;"
client_set acme.test "accept_rate = 100; accept_burst = 100;"
client_set partner.test "accept_rate = 1; accept_burst = 3;"

# Out-of-bounds values are refused by the config check.
cp "$(conf acme.test)" "$T/bad.conf"
sed -i 's/frame_timeout = 2;/frame_timeout = 0;/' "$T/bad.conf"
"$RELAY_BIN" -n -c "$T/bad.conf" >"$T/out/bad-conf.err" 2>&1 &&
    fail "frame_timeout = 0 passed the config check"
grep -q "frame_timeout.*between 1 and 3600" "$T/out/bad-conf.err" ||
    fail "frame_timeout = 0: $(cat "$T/out/bad-conf.err")"

start_relay acme.test
start_relay partner.test
grep -q 'info: relay: open files limit=' "$T/acme.test.log" ||
    fail "the relay did not log its open files limit"
grep -q 'info: relay: limits .*max_per_address=4 ' "$T/acme.test.log" ||
    fail "the relay did not log its limits"
new_user acme.test alice@acme.test
new_user partner.test bob@partner.test

# bob waits for mail the whole time, on one session.
CLIENT_TIMEOUT=120 client bob@partner.test recv --json --count 1 \
    --wait 100 >"$T/out/bob.json" 2>"$T/out/bob.err" &
BOB=$!
track_pid $BOB

# --- the attacker's tools ------------------------------------------------

cat >"$T/hostile.py" <<'PYEOF'
"""Hostile connections from a chosen loopback source address; one JSON
line of results each."""
import json, socket, ssl, struct, sys, time
sys.path.insert(0, sys.argv[1])
import probe
probe.out = lambda obj: None	# only our own line goes to stdout

cmd, a = sys.argv[2], dict(x.split("=", 1) for x in sys.argv[3:])
port, src = int(a["port"]), a.get("src", "127.0.0.1")
ALPN = "sealpost-client/0"


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(a["ca"])
    c.set_alpn_protocols([ALPN])
    return c


def tcp(s_src=None):
    s = socket.socket()
    s.bind((s_src or src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


class C(probe.Conn):
    """probe.Conn, from our source address."""
    def __init__(self, s_src=None):
        raw = tcp(s_src)
        self.s = ctx().wrap_socket(raw, server_hostname=a["name"])
        self.timeout, self.buf, self.rid = 10, b"", 0


def hello(c):
    ident = argparse_ns(identity=a.get("identity"))
    probe.client_hello(c, ident)


def argparse_ns(**kw):
    return type("NS", (), kw)


def wait_closed(c, limit):
    """Seconds until the relay closed c, None if still open."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            c.s.settimeout(max(0.05, limit - (time.monotonic() - t0)))
            if not c.s.recv(4096):
                return time.monotonic() - t0
        except socket.timeout:
            return None
        except (ssl.SSLError, OSError):
            return time.monotonic() - t0
    return None


def client_hello_bytes():
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx().wrap_bio(inc, out, server_hostname=a["name"])
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def refused_at_once():
    """True when the relay resets or closes a fresh connection at once
    (on loopback the reset may even beat connect(2) back)."""
    try:
        s = tcp()
    except ConnectionError:
        return True
    s.settimeout(0.5)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
    finally:
        s.close()


res = {"cmd": cmd}
if cmd == "slow":
    # A frame of 1000 bytes, one byte a second.
    c = C()
    hello(c)
    res["port"] = c.s.getsockname()[1]
    data = struct.pack(">I", 1000) + b"\x81" * 1000
    t0 = time.monotonic()
    closed = False
    for b in data:
        try:
            c.s.sendall(bytes([b]))
        except OSError:
            closed = True
            break
        if wait_closed(c, 1.0) is not None:
            closed = True
            break
        if time.monotonic() - t0 > 30:
            break
    res["closed"], res["after"] = closed, round(time.monotonic() - t0, 1)
elif cmd == "idle":
    c = C()
    hello(c)
    res["port"] = c.s.getsockname()[1]
    after = wait_closed(c, 30)
    res["closed"] = after is not None
    res["after"] = round(after, 1) if after is not None else None
elif cmd == "trickle":
    # A TLS ClientHello, a byte every half second; or nothing at all.
    s = tcp()
    res["port"] = s.getsockname()[1]
    data = client_hello_bytes() if a.get("hello") else b""
    t0 = time.monotonic()
    closed = False
    for b in data:
        try:
            s.sendall(bytes([b]))
            s.settimeout(0.5)
            if s.recv(4096) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
        if time.monotonic() - t0 > 30:
            break
    if not closed:
        # Whatever comes now (an alert, the end) means it was closed.
        s.settimeout(30)
        try:
            s.recv(4096)
            closed = True
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
    res["closed"], res["after"] = closed, round(time.monotonic() - t0, 1)
elif cmd == "cap":
    # Hold n TLS sessions (each gets its challenge), then one more.
    n, held = int(a["n"]), []
    for i in range(n):
        c = C()
        probe.client_hello(c, argparse_ns(identity=None))
        held.append(c)
    res["held"] = len(held)
    res["extra_refused"] = refused_at_once()
elif cmd == "burst":
    # n new connections in a row, each closed once the relay took it.
    n, refused = int(a["n"]), 0
    for i in range(n):
        if refused_at_once():
            refused += 1
    res["tried"], res["refused"] = n, refused
elif cmd == "many":
    # n idle TLS sessions over several source addresses; held until
    # stdin closes.
    n, per, held = int(a["n"]), int(a["per"]), []
    for i in range(n):
        c = C("127.0.%d.%d" % (100 + i // (per * 200), 1 + i // per % 200))
        c.recv()
        held.append(c)
    print(json.dumps({"cmd": cmd, "open": len(held)}), flush=True)
    sys.stdin.read()
    sys.exit(0)
print(json.dumps(res), flush=True)
PYEOF

# hostile CMD KEY=VALUE...: run one, bounded; its JSON line on stdout.
hostile() {
	local cmd=$1
	shift
	timeout 60 "$PY" "$T/hostile.py" "$LIB_DIR" "$cmd" \
	    ca="$(orgdir acme.test)/ca.crt" name=acme.test \
	    port="$(client_port acme.test)" "$@"
}

# field JSON KEY: one value of a JSON object.
field() {
	"$PY" -c 'import json, sys
print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$1" "$2"
}

# closed_for ORG PORT WHY: the relay's log says the connection from
# source port PORT was closed for WHY.
closed_for() {
	wait_log "$1" ":$2: .*($3)" 1 10 ||
	    fail "no '$3' for the connection from port $2 in $1's log:" \
	    "$(grep ":$2: " "$T/$1.log" | tail -n 3)"
}

# --- deadlines -------------------------------------------------------------

# A frame trickled in, before and after authentication: the frame
# deadline (2 s) closes it, long before the idle timeout (300 s).
out=$(hostile slow src=127.0.0.2) || fail "slow: $out"
[ "$(field "$out" closed)" = True ] || fail "slowloris left open: $out"
closed_for acme.test "$(field "$out" port)" \
    "frame timeout|authentication timeout"
log "slowloris before authentication: closed after $(field "$out" after)s"

out=$(hostile slow src=127.0.0.2 identity="${IDF[alice@acme.test]}") ||
    fail "slow authenticated: $out"
[ "$(field "$out" closed)" = True ] ||
    fail "slowloris after authentication left open: $out"
closed_for acme.test "$(field "$out" port)" "frame timeout"
log "slowloris after authentication: closed by the frame deadline" \
    "after $(field "$out" after)s"

# TLS done, then silence: the authentication deadline (3 s).
out=$(hostile idle src=127.0.0.2) || fail "idle: $out"
[ "$(field "$out" closed)" = True ] || fail "silent device left open: $out"
closed_for acme.test "$(field "$out" port)" "authentication timeout"
log "silent before authentication: closed after $(field "$out" after)s"

# A handshake trickled in, or never started: the handshake deadline.
out=$(hostile trickle src=127.0.0.2 hello=1) || fail "trickle: $out"
[ "$(field "$out" closed)" = True ] || fail "trickled handshake: $out"
closed_for acme.test "$(field "$out" port)" "handshake timeout"
log "handshake a byte per 0.5 s: closed after $(field "$out" after)s"
out=$(hostile trickle src=127.0.0.2) || fail "stall: $out"
[ "$(field "$out" closed)" = True ] || fail "stalled handshake: $out"
closed_for acme.test "$(field "$out" port)" "handshake timeout"
log "no handshake at all: closed after $(field "$out" after)s"

# --- per-address limits -------------------------------------------------

out=$(hostile cap src=127.0.0.3 n=4) || fail "cap: $out"
[ "$(field "$out" held)" = 4 ] && [ "$(field "$out" extra_refused)" = True ] ||
    fail "4 connections per address, the fifth not refused: $out"
wait_log acme.test \
    'warn: client: 127\.0\.0\.3:[0-9]+: refused: 4 connections from this' \
    1 10 ||
    fail "acme did not log the per-address refusal"
log "per-address cap: 4 held, the fifth refused"

out=$(timeout 60 "$PY" "$T/hostile.py" "$LIB_DIR" burst \
    port="$(client_port partner.test)" src=127.0.0.4 n=30) ||
    fail "burst: $out"
[ "$(field "$out" refused)" -ge 1 ] ||
    fail "30 new connections at once, bucket of 3: none refused: $out"
wait_log partner.test 'refused: more than 1 new connections a second' 1 10 ||
    fail "partner did not log the accept-rate refusal"
log "accept rate: $(field "$out" refused) of 30 refused"

# --- hostile frames --------------------------------------------------------

C=$(client_probe_args acme.test)
# frame HEX: a length prefix for the body HEX, then the body.
frame() { printf '%08x%s' $((${#1} / 2)) "$1"; }
# map of t=ping rid=1: 82 a1 74 a4 "ping" a3 "rid" 01
PING=82a174a470696e67a372696401

# bad NAME HEX [probe options]: an error answer, then closed.
bad() {
	local name=$1 hex=$2 out=$T/out/frame-$1.json why
	shift 2
	probe raw $C --hex "$hex" "$@" >"$out" 2>&1 ||
	    fail "$name: probe could not connect: $(cat "$out")"
	why=$(expect_error_close "$out" bad_frame bad_message state) ||
	    fail "$name: $why"
	log "$name: $why, closed"
}
bad huge-prefix ffffffff
bad mib-prefix-before-auth 00100000
bad huge-prefix-after-auth ffffffff --identity "${IDF[alice@acme.test]}"
# a map declaring 2^32-1 entries; a bin declaring 4 GiB; 2^32-1 array
bad huge-map-count "$(frame dfffffffff)"
bad huge-bin-length "$(frame 82a174a470696e67a3726964c6ffffffff)"
bad huge-array-count "$(frame ddffffffff00)"
bad deep "$(frame 81a17491919191919191919101)"
bad trailing "$(frame "${PING}c0")"
many=""
for i in $(seq 20); do many+=$(frame "$PING"); done
bad too-many-before-auth "$many"

# Addresses with invalid UTF-8 or control characters: refused as
# addresses, the session goes on (a ping is still answered).
# lookup rid=1 addr=<str>: 83 a1 74 a6 "lookup" a3 "rid" 01 a4 "addr"
LOOKUP=83a174a66c6f6f6b7570a372696401a461646472
for a in '\xff@acme.test' 'a\x01b@acme.test' 'al\xc3\x28ce@acme.test'; do
	hex=$(printf "$a" | od -An -tx1 | tr -d ' \n')
	[ ${#hex} -lt 62 ] || fail "test address too long"
	body="${LOOKUP}$(printf '%02x' $((0xa0 + ${#hex} / 2)))${hex}"
	out=$T/out/addr-$RANDOM.json
	probe raw $C --hex "$(frame "$body")$(frame "$PING")" \
	    --identity "${IDF[alice@acme.test]}" --timeout 2 >"$out" 2>&1 ||
	    fail "address $a: probe could not connect: $(cat "$out")"
	grep -q '"errname": "bad_address"' "$out" ||
	    fail "address $a not refused as bad_address: $(cat "$out")"
	grep -q '"t": "ok"' "$out" ||
	    fail "after a bad address the session ended: $(cat "$out")"
done
log "invalid UTF-8 and control characters in addresses: bad_address"

# --- memory ---------------------------------------------------------------

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/${RELAY_PID[acme.test]}/status"; }
asan=0
ldd "$RELAY_BIN" 2>/dev/null | grep -q 'libasan' && asan=1
N=200
rss0=$(rss)
coproc MANY { timeout 90 "$PY" "$T/hostile.py" "$LIB_DIR" many \
    ca="$(orgdir acme.test)/ca.crt" name=acme.test \
    port="$(client_port acme.test)" n=$N per=4; }
read -r -t 60 line <&"${MANY[0]}" || fail "idle connections did not open"
[ "$(field "$line" open)" = $N ] || fail "idle connections: $line"
rss1=$(rss)
per=$(( (rss1 - rss0) * 1024 / N ))
exec {MANY[1]}>&-
wait "$MANY_PID" 2>/dev/null
# About 20 KiB each in a normal build; a sanitizer's redzones and
# quarantine cost several times that.
limit=$((asan ? 400 : 100))
[ "$per" -le $((limit * 1024)) ] ||
    fail "$N idle TLS connections: $per bytes each, over ${limit} KiB"
log "$N idle TLS connections: relay RSS ${rss0} -> ${rss1} KiB," \
    "$per bytes each"

# --- and honest mail still goes ------------------------------------------

relay_alive acme.test || fail "acme's relay died"
send alice@acme.test bob@partner.test --text "through the storm"
id=${SENT_IDS[0]}
wait_exit "$BOB" 60 || fail "bob's recv got nothing"
wait "$BOB"
rc=$?
[ $rc -eq 0 ] || fail "bob's recv: status $rc: $(cat "$T/out/bob.err")"
expect_msgs "$T/out/bob.json" "$id" alice@acme.test "through the storm"

stop_relay acme.test
stop_relay partner.test
echo "PASS: $TEST_NAME"
