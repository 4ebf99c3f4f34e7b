#!/bin/bash
# The federation listener accepts a peer only with a client certificate
# that names a configured peer and chains to that peer's own CA, for the
# TLS client purpose.  Every other attempt fails before the relay takes
# any application data, and the relay logs a warning; the real
# partner certificate still works afterwards.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test partner.test third.test
# All three up, so that acme logs no connect failures of its own that a
# warning about a refused peer could hide among.
start_relay partner.test
start_relay third.test
start_relay acme.test
new_user acme.test alice@acme.test
read -r adev abox <<<"$(lookup_keys alice@acme.test alice@acme.test)"
[ -n "${abox:-}" ] || fail "lookup of alice@acme.test found no device"

P=$(orgdir partner.test)
B=$T/bad
mkdir "$B"

# leaf NAME DNS CAKEY CACRT EKU: a relay-like certificate.
leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$B/$1.key" -subj "/CN=$2" -out "$B/$1.csr" \
	    2>>"$B/openssl.log" || fail "openssl req for $1"
	cat >"$B/$1.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $5
subjectAltName = DNS:$2
EXT
	openssl x509 -req -in "$B/$1.csr" -CA "$4" -CAkey "$3" \
	    -CAcreateserial -days 2 -extfile "$B/$1.ext" -out "$B/$1.crt" \
	    2>>"$B/openssl.log" || fail "openssl x509 for $1"
	chmod 600 "$B/$1.key"
}

# A CA nobody configured, with the same look as the real ones.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$B/evilca.key" -subj "/CN=partner.test CA" -days 2 \
    -addext "basicConstraints = critical, CA:TRUE" \
    -addext "keyUsage = critical, keyCertSign, cRLSign" \
    -out "$B/evilca.crt" 2>>"$B/openssl.log" || fail "openssl evil CA"

leaf evil "partner.test" "$B/evilca.key" "$B/evilca.crt" \
    "serverAuth, clientAuth"
cat "$B/evil.crt" "$B/evilca.crt" >"$B/evil.chain"
leaf other "other.test" "$P/ca.key" "$P/ca.crt" "serverAuth, clientAuth"
leaf third "third.test" "$P/ca.key" "$P/ca.crt" "serverAuth, clientAuth"
leaf acme "acme.test" "$P/ca.key" "$P/ca.crt" "serverAuth, clientAuth"
leaf serveronly "partner.test" "$P/ca.key" "$P/ca.crt" "serverAuth"

# A real sealed envelope for alice, so that "accepted" would mean a
# message she could read.
probe mkenv --out "$T/env.bin" --to alice@acme.test --dev "$adev" \
    --org partner.test --rbpk "$abox" --text "must not arrive" \
    >/dev/null || fail "probe mkenv"

# attempt LABEL CERT KEY [probe options]: must be refused.
attempt() {
	local label=$1 cert=$2 key=$3 warns out rc
	shift 3
	warns=$(log_count acme.test '(^|[^a-z])warn: ')
	out=$T/out/attempt-$label.json
	probe fed $(fed_probe_args acme.test "$cert" "$key") "$@" \
	    relay="$T/env.bin" ping >"$out" 2>&1
	rc=$?
	grep -q '"t": "accepted"\|"t": "ok"' "$out" &&
	    fail "$label: relay answered: $(cat "$out")"
	[ $rc -ne 0 ] || grep -q '"t": "error"' "$out" ||
	    fail "$label: no refusal: $(cat "$out")"
	wait_log acme.test '(^|[^a-z])warn: ' $((warns + 1)) 5 ||
	    fail "$label: acme logged no warning about it"
	log "$label: acme: $(grep -E '(^|[^a-z])warn: ' "$T/acme.test.log" |
	    tail -n 1)"
	relay_alive acme.test || fail "$label: acme's relay died"
	log "$label refused: $(tail -n 1 "$out")"
}

attempt other-ca "$B/evil.chain" "$B/evil.key"
attempt wrong-name "$B/other.crt" "$B/other.key"
attempt other-peers-name "$B/third.crt" "$B/third.key"
attempt own-name "$B/acme.crt" "$B/acme.key"
attempt no-client-eku "$B/serveronly.crt" "$B/serveronly.key"
attempt no-cert "" ""
attempt client-alpn "$P/relay.crt" "$P/relay.key" \
    --alpn-name sealpost-client/0

recv_none alice@acme.test

# The partner's real certificate is accepted.
out=$T/out/good.json
probe fed $(fed_probe_args acme.test "$P/relay.crt" "$P/relay.key") \
    ping lookup=alice@acme.test >"$out" 2>&1 ||
    fail "real partner certificate refused: $(cat "$out")"
grep -q '"t": "ok"' "$out" || fail "ping over federation: $(cat "$out")"
grep -q '"t": "keys"' "$out" || fail "lookup over federation: $(cat "$out")"

stop_relay acme.test
stop_relay partner.test
stop_relay third.test
echo "PASS: $TEST_NAME"
