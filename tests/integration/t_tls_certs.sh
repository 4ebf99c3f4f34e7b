#!/bin/bash
# Certificates a relay must not trust, made with the openssl CLI:
# expired, not yet valid, for another name, from another CA (one that
# even has the real CA's name), without the needed extended key usage,
# self-signed.  Each is refused
#   (a) as the client certificate of a peer relay connecting to acme's
#       federation listener, and
#   (b) as the server certificate of partner.test's "relay" (a fake
#       TLS 1.3 listener in Python) that acme's connector must hand an
#       envelope to: acme refuses to hand over, logs why and keeps the
#       envelope, which the real certificate then gets.
# And both listeners refuse TLS 1.2 and lower.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test
start_relay acme.test
new_user acme.test alice@acme.test

P=$(orgdir partner.test)
A=$(orgdir acme.test)
B=$T/bad
mkdir -p "$B/newcerts"
: >"$B/index.txt"
echo 01 >"$B/serial"

# "openssl ca" settings: any subject, extensions from the environment.
cat >"$B/ca.cnf" <<'CNF'
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = ${ENV::LEAF_EKU}
subjectAltName = DNS:${ENV::LEAF_DNS}
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
CNF

# stamp OFFSET: an "openssl ca" date OFFSET (e.g. "-400 days") from now.
stamp() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# leaf NAME DNS EKU ISSUER START END: NAME.crt/NAME.key issued by ISSUER
# (a directory with ca.crt and ca.key, or "self"), valid START..END.
leaf() {
	local name=$1 dns=$2 eku=$3 issuer=$4 start=$5 end=$6 how
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$B/$name.key" -subj "/CN=$dns" \
	    -out "$B/$name.csr" 2>>"$B/openssl.log" ||
	    fail "openssl req for $name"
	if [ "$issuer" = self ]; then
		how=(-selfsign -keyfile "$B/$name.key")
	else
		how=(-cert "$issuer/ca.crt" -keyfile "$issuer/ca.key")
	fi
	(cd "$B" && LEAF_EKU=$eku LEAF_DNS=$dns openssl ca -batch \
	    -config ca.cnf "${how[@]}" -startdate "$start" -enddate "$end" \
	    -extensions leaf -notext -in "$name.csr" -out "$name.crt") \
	    >>"$B/openssl.log" 2>&1 || fail "openssl ca for $name"
	chmod 600 "$B/$name.key"
}

past=$(stamp "-1 hour")
soon=$(stamp "+2 days")
both="serverAuth, clientAuth"
# ca.cnf reads these when it is loaded, whatever the command.
export LEAF_EKU=$both LEAF_DNS=partner.test

# A CA with the very name of partner's, but another key.
mkdir "$B/evil"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$B/evil/ca.key" -out "$B/evil/ca.crt" -days 2 \
    -subj "$(openssl x509 -in "$P/ca.crt" -noout -subject -nameopt compat |
    sed 's/^subject=//')" -config "$B/ca.cnf" -extensions ca_ext \
    2>>"$B/openssl.log" || fail "openssl: the other CA"

leaf expired partner.test "$both" "$P" "$(stamp '-400 days')" \
    "$(stamp '-30 days')"
leaf notyet partner.test "$both" "$P" "$(stamp '+1 day')" \
    "$(stamp '+400 days')"
leaf othername other.test "$both" "$P" "$past" "$soon"
leaf otherca partner.test "$both" "$B/evil" "$past" "$soon"
leaf noclient partner.test serverAuth "$P" "$past" "$soon"
leaf noserver partner.test clientAuth "$P" "$past" "$soon"
leaf selfsigned partner.test "$both" self "$past" "$soon"
for c in otherca selfsigned; do
	cat "$B/$c.crt" >"$B/$c.chain"
done
cat "$B/evil/ca.crt" >>"$B/otherca.chain"

# openssl agrees that each is bad for the use it is put to.
openssl verify -CAfile "$P/ca.crt" "$B/expired.crt" 2>&1 |
    grep -q 'expired' || fail "the expired certificate verifies"
openssl verify -CAfile "$P/ca.crt" "$B/notyet.crt" 2>&1 |
    grep -q 'not yet valid' || fail "the future certificate verifies"

# --- (a) as a client certificate on the federation listener ----------

# A real sealed envelope for alice: "accepted" would mean a message.
read -r adev abox <<<"$(lookup_keys alice@acme.test alice@acme.test)"
[ -n "${abox:-}" ] || fail "lookup of alice@acme.test found no device"
probe mkenv --out "$T/in.env" --to alice@acme.test --dev "$adev" \
    --org partner.test --rbpk "$abox" --text "must never arrive" \
    >/dev/null || fail "probe mkenv"
note_secret "must never arrive"

# as_client NAME CERT KEY WHY: refused, with a warning saying WHY.
as_client() {
	local name=$1 cert=$2 key=$3 why=$4 warns out line
	warns=$(log_count acme.test '(^|[^a-z])warn: fedin: ')
	out=$T/out/client-$name.json
	probe fed $(fed_probe_args acme.test "$cert" "$key") \
	    relay="$T/in.env" ping >"$out" 2>&1
	grep -q '"t": "accepted"\|"t": "ok"' "$out" &&
	    fail "(a) $name: acme answered: $(cat "$out")"
	wait_log acme.test '(^|[^a-z])warn: fedin: ' $((warns + 1)) 5 ||
	    fail "(a) $name: acme logged no warning"
	line=$(grep -E '(^|[^a-z])warn: fedin: ' "$T/acme.test.log" |
	    tail -n 1)
	printf '%s' "$line" | grep -qE "$why" ||
	    fail "(a) $name: acme's warning does not say '$why': $line"
	relay_alive acme.test || fail "(a) $name: acme's relay died"
	echo "(a) client cert $name: refused: ${line#*refused: }"
}

as_client expired "$B/expired.crt" "$B/expired.key" "has expired"
as_client notyet "$B/notyet.crt" "$B/notyet.key" "not yet valid"
as_client othername "$B/othername.crt" "$B/othername.key" \
    "names no configured peer"
as_client otherca "$B/otherca.chain" "$B/otherca.key" \
    "not valid for the peer it names"
as_client noclient "$B/noclient.crt" "$B/noclient.key" \
    "unsuitable certificate purpose"
as_client selfsigned "$B/selfsigned.chain" "$B/selfsigned.key" \
    "not valid for the peer it names"
recv_none alice@acme.test

# The real partner certificate passes, so the refusals meant something.
probe fed $(fed_probe_args acme.test "$P/relay.crt" "$P/relay.key") ping \
    >"$T/out/client-good.json" 2>&1 && grep -q '"t": "ok"' \
    "$T/out/client-good.json" ||
    fail "(a) the real certificate is refused: $(cat \
    "$T/out/client-good.json")"

# --- (b) as the server certificate of the peer acme connects to --------

cat >"$T/fakepeer.py" <<'PYEOF'
# A stand-in for partner.test's federation listener: TLS 1.3, ALPN
# sealpost-fed/0, serving the certificate it is given.  Prints one JSON
# line per event; answers "relay" with "accepted", anything else with
# "ok".  Runs until killed, or for --seconds.
import argparse, json, socket, ssl, struct, sys, time
import msgpack

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--client-ca", required=True)
ap.add_argument("--seconds", type=float, default=60)
a = ap.parse_args()

def out(o):
    print(json.dumps(o, sort_keys=True), flush=True)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(a.cert, a.key)
ctx.load_verify_locations(a.client_ca)
ctx.verify_mode = ssl.CERT_OPTIONAL
ctx.set_alpn_protocols(["sealpost-fed/0"])

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", a.port))
ls.listen(8)
out({"event": "listening"})
end = time.monotonic() + a.seconds

def serve(s):
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            m = msgpack.unpackb(buf[4:4 + n], raw=False)
            buf = buf[4 + n:]
            out({"event": "frame", "t": m.get("t")})
            if m.get("t") == "relay":
                env = msgpack.unpackb(m["env"], raw=False)
                r = {"t": "accepted", "rid": m["rid"], "id": env["id"]}
            else:
                r = {"t": "ok", "rid": m["rid"]}
            body = msgpack.packb(r, use_bin_type=True)
            s.sendall(struct.pack(">I", len(body)) + body)

while time.monotonic() < end:
    ls.settimeout(max(0.1, end - time.monotonic()))
    try:
        raw, _ = ls.accept()
    except socket.timeout:
        break
    raw.settimeout(10)
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        out({"event": "handshake_failed", "detail": str(e)})
        raw.close()
        continue
    out({"event": "handshake_ok", "alpn": s.selected_alpn_protocol()})
    try:
        serve(s)
    except (ssl.SSLError, OSError) as e:
        out({"event": "closed", "detail": str(e)})
    s.close()
PYEOF

# One envelope waits at acme for partner.test, whose relay is the fake.
probe mkenv --out "$T/out.env" --to bob@partner.test --dev 1 \
    --org acme.test >"$T/out.made" || fail "probe mkenv"
out_id=$(probe_field "$T/out.made" id)
probe client $(client_probe_args acme.test) \
    --identity "${IDF[alice@acme.test]}" send="$T/out.env" \
    >"$T/out/queue.json" 2>&1 && grep -q '"t": "accepted"' \
    "$T/out/queue.json" || fail "acme did not queue the envelope:" \
    "$(cat "$T/out/queue.json")"

# as_server NAME CERT KEY WHY: acme's connector refuses the fake peer
# serving CERT, says WHY in its log, and hands nothing over.
as_server() {
	local name=$1 cert=$2 key=$3 why=$4 out pid n line
	out=$T/out/server-$name.json
	n=$(log_count acme.test 'fedout: partner.test: .*handshake failed')
	"$PY" "$T/fakepeer.py" --port "$(fed_port partner.test)" \
	    --cert "$cert" --key "$key" --client-ca "$A/ca.crt" \
	    >"$out" 2>&1 &
	pid=$!
	track_pid $pid
	wait_log acme.test 'fedout: partner.test: .*handshake failed' \
	    $((n + 1)) 15 || fail "(b) $name: acme logged no failed" \
	    "handshake in 15s: $(tail -n 3 "$T/acme.test.log")"
	sleep 0.3
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -q '"event": "frame"' "$out" &&
	    fail "(b) $name: acme handed over: $(cat "$out")"
	grep -q '"event": "handshake_failed"' "$out" ||
	    fail "(b) $name: the fake peer saw no failed handshake:" \
	    "$(cat "$out")"
	line=$(grep -E 'fedout: partner.test: .*handshake failed' \
	    "$T/acme.test.log" | tail -n 1)
	printf '%s' "$line" | grep -qE "$why" ||
	    fail "(b) $name: acme's log does not say '$why': $line"
	relay_alive acme.test || fail "(b) $name: acme's relay died"
	echo "(b) server cert $name: refused: ${line#*handshake failed: }"
}

as_server expired "$B/expired.crt" "$B/expired.key" "has expired"
as_server notyet "$B/notyet.crt" "$B/notyet.key" "not yet valid"
as_server othername "$B/othername.crt" "$B/othername.key" \
    "hostname mismatch"
as_server otherca "$B/otherca.chain" "$B/otherca.key" \
    "self-signed certificate in certificate chain|signature failure"
as_server noserver "$B/noserver.crt" "$B/noserver.key" \
    "unsuitable certificate purpose"
as_server selfsigned "$B/selfsigned.chain" "$B/selfsigned.key" \
    "self-signed certificate"

[ "$(log_count acme.test "deliver: id=$out_id")" -eq 0 ] ||
    fail "(b) acme claims a hand-over to a refused peer"

# With partner's real certificate the same envelope goes through.
"$PY" "$T/fakepeer.py" --port "$(fed_port partner.test)" \
    --cert "$P/relay.crt" --key "$P/relay.key" --client-ca "$A/ca.crt" \
    >"$T/out/server-good.json" 2>&1 &
pid=$!
track_pid $pid
wait_log acme.test "deliver: id=$out_id .*result=accepted" 1 15 ||
    fail "(b) the real certificate got nothing: $(cat \
    "$T/out/server-good.json")"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
grep -q '"t": "relay"' "$T/out/server-good.json" ||
    fail "(b) no relay frame at the real peer"

# --- protocol versions ---------------------------------------------------

# tls_old PORT VERSION [ARGS]: an openssl s_client handshake limited to
# VERSION (tls1_2, tls1_1, tls1) must fail.
tls_old() {
	local port=$1 v=$2 out
	shift 2
	out=$T/out/s_client-$port-$v.txt
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -servername acme.test -"$v" -cipher 'DEFAULT:@SECLEVEL=0' "$@" \
	    </dev/null >"$out" 2>&1 &&
	    fail "$v handshake with port $port succeeded: $(grep -E \
	    'Protocol|Cipher' "$out" | head -n 2)"
	grep -q 'Cipher is (NONE)' "$out" ||
	    fail "$v on port $port: a cipher was agreed: $(grep -E \
	    'Cipher is' "$out")"
	echo "$v on port $port: refused: $(grep -m1 -oE \
	    'alert [a-z ]+|no protocols available|unsupported protocol' \
	    "$out" || echo handshake failed)"
}

for v in tls1_2 tls1_1 tls1; do
	tls_old "$(client_port acme.test)" $v
	tls_old "$(fed_port acme.test)" $v -cert "$P/relay.crt" \
	    -key "$P/relay.key"
done

# And TLS 1.3 works on both, so the refusals are about the version.
timeout 10 openssl s_client -connect "127.0.0.1:$(client_port acme.test)" \
    -servername acme.test -tls1_3 -alpn sealpost-client/0 \
    -CAfile "$A/ca.crt" -verify_return_error </dev/null \
    >"$T/out/s_client-13.txt" 2>&1
grep -q 'New, TLSv1.3, Cipher is TLS_' "$T/out/s_client-13.txt" ||
    fail "TLS 1.3 on the client listener: $(tail -n 5 \
    "$T/out/s_client-13.txt")"

stop_relay acme.test
echo "PASS: $TEST_NAME"
