#!/bin/bash
# What a relay must never learn or keep: message contents, file names,
# enrolment codes, device secret keys.  Both relays log at debug level
# (-v) while canaries travel through every path: a text and a file with
# a random name sent across organisations and within one, enrolments
# with wrong codes and for users that do not exist, sends and lookups
# for addresses that do not exist, an unused code left in the store, a
# sealed envelope refused for a device that does not exist.  Then no
# canary may appear in any relay log, in any error text a refused client
# printed, or anywhere in the LMDB files (payloads are sealed, codes
# hashed).  Recipient addresses may appear; a sender's address must not
# reach the other organisation's store (it travels inside the seal).
. "$(dirname "$0")/lib.sh"

RELAY_FLAGS=-v
setup_orgs acme.test partner.test
start_relay acme.test
start_relay partner.test
new_user acme.test alice@acme.test
new_user acme.test carol@acme.test
new_user partner.test bob@partner.test

CANARY=$T/canaries.txt		# one per line: what, then the text
: >"$CANARY"

# canary WHAT TEXT: remember TEXT as something no relay may keep.
canary() {
	printf '%s\t%s\n' "$1" "$2" >>"$CANARY"
	note_secret "$2"
}

rand() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# The secret keys of every enrolled device, as hex.
for id in "$T"/id/*; do
	"$PY" - "$id" "$LIB_DIR" <<'PYEOF' >>"$T/keys.txt" ||
import sys
sys.path.insert(0, sys.argv[2])
import probe
me = probe.parse_identity(sys.argv[1])
if "ssk" not in me or "bsk" not in me:
    sys.exit(1)
print("ssk-seed %s" % me["ssk"][:32].hex())
print("ssk %s" % me["ssk"].hex())
print("bsk %s" % me["bsk"].hex())
PYEOF
	    fail "no secret keys found in $id"
done
while read -r what hex; do
	canary "key $what" "$hex"
done <"$T/keys.txt"

# --- payloads ------------------------------------------------------------

text_x="canary-text-$(rand)-across"
text_l="canary-text-$(rand)-local"
canary "text across organisations" "$text_x"
canary "text within acme" "$text_l"
fname="canary-name-$(rand).txt"
fbody="canary-file-$(rand)-body"
canary "file name" "$fname"
canary "file contents" "$fbody"
mkdir "$T/files"
printf '%s\n' "$fbody" >"$T/files/$fname"

send alice@acme.test bob@partner.test --text "$text_x"
id_x=${SENT_IDS[0]}
send alice@acme.test bob@partner.test --file "$T/files/$fname"
id_f=${SENT_IDS[0]}
send alice@acme.test carol@acme.test --text "$text_l"
id_l=${SENT_IDS[0]}
recv_expect bob@partner.test 15 "$id_x" alice@acme.test "$text_x" \
    "$id_f" alice@acme.test "file:$T/files/$fname"
recv_expect carol@acme.test 15 "$id_l" alice@acme.test "$text_l"

# A real seal for a device that does not exist: refused, not kept.
read -r cdev cbox <<<"$(lookup_keys carol@acme.test alice@acme.test)"
text_r="canary-text-$(rand)-refused"
canary "text of a refused envelope" "$text_r"
probe mkenv --out "$T/refused.env" --to carol@acme.test \
    --dev $((cdev + 1000)) --org acme.test --rbpk "$cbox" \
    --identity "${IDF[alice@acme.test]}" --text "$text_r" >/dev/null ||
    fail "probe mkenv"
probe client $(client_probe_args acme.test) \
    --identity "${IDF[alice@acme.test]}" send="$T/refused.env" \
    >"$T/out/refused-env.json" 2>&1
grep -q '"t": "error"' "$T/out/refused-env.json" ||
    fail "an envelope for no device was not refused: $(cat \
    "$T/out/refused-env.json")"

# --- codes and addresses that lead nowhere -------------------------------

# refused NAME EXIT CMD...: CMD fails with status EXIT; its output is
# kept as what a refused client saw.
refused() {
	local name=$1 want=$2 rc
	shift 2
	timeout "$CLIENT_TIMEOUT" "$@" >"$T/out/refused-$name.txt" 2>&1
	rc=$?
	[ $rc -eq "$want" ] || fail "$name: status $rc, want $want:" \
	    "$(cat "$T/out/refused-$name.txt")"
	log "$name: $(head -n 1 "$T/out/refused-$name.txt")"
}

# A well-formed code nobody issued, for a user that exists, then for
# users that do not exist, here and at the partner.
fake_code() {
	"$PY" -c '
import random
a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
s = "".join(random.SystemRandom().choice(a) for _ in range(20))
print("-".join(s[i:i + 5] for i in range(0, 20, 5)))'
}
n=0
for addr in alice@acme.test "ghost-$(rand)@acme.test" \
    "ghost-$(rand)@partner.test"; do
	n=$((n + 1))
	code=$(fake_code)
	canary "enrolment code nobody issued" "$code"
	org=${addr#*@}
	refused "enrol-$n" 3 "$CLIENT_BIN" -i "$T/id/nobody-$n" enrol \
	    "$addr" "$code" --relay "127.0.0.1:$(client_port "$org")" \
	    --ca "$(orgdir "$org")/ca.crt"
done

# An issued code that is never used stays in the store: as a hash only.
unused=$(add_user acme.test dave@acme.test) || fail "user add dave"
canary "unused enrolment code" "$unused"
# The codes spent by the enrolments above were noted by lib.sh (read
# from a copy: canary adds to the file).
cp "$T/secrets.txt" "$T/secrets.before"
while read -r code; do
	[[ $code =~ ^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$ ]] &&
	    canary "issued enrolment code" "$code"
done <"$T/secrets.before"

ghost="ghost-$(rand)"
refused send-ghost 3 "$CLIENT_BIN" -i "${IDF[alice@acme.test]}" send \
    "$ghost@acme.test" --text "$text_r"
refused send-ghost-fed 3 "$CLIENT_BIN" -i "${IDF[alice@acme.test]}" send \
    "$ghost@partner.test" --text "$text_r"
refused lookup-ghost 3 "$CLIENT_BIN" -i "${IDF[alice@acme.test]}" lookup \
    "$ghost@partner.test"
refused send-nopeer 3 "$CLIENT_BIN" -i "${IDF[alice@acme.test]}" send \
    "$ghost@nowhere.test" --text "$text_r"

stop_relay acme.test
stop_relay partner.test

# --- where to look ----------------------------------------------------------

# find_canaries FILE...: every canary found in FILE (raw bytes; codes
# also without dashes and in lower case; hex keys also as raw bytes and
# upper case), one line each.
find_canaries() {
	"$PY" - "$CANARY" "$@" <<'PYEOF'
import re, sys
canaries = []
for line in open(sys.argv[1]):
    what, text = line.rstrip("\n").split("\t", 1)
    forms = {text}
    if re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", text):
        forms |= {text.replace("-", ""), text.lower(),
                  text.replace("-", "").lower()}
    if what.startswith("key "):
        forms |= {text.upper()}
        forms = {f.encode() for f in forms} | {bytes.fromhex(text)}
    else:
        forms = {f.encode() for f in forms}
    canaries.append((what, text, forms))
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    for what, text, forms in canaries:
        if any(f in data for f in forms):
            print("%s: %s (%s...)" % (path, what, text[:16]))
PYEOF
}

logs=("$T/acme.test.log" "$T/partner.test.log")
grep -q 'debug: ' "$T/acme.test.log" || fail "acme did not log at debug"
hits=$(find_canaries "${logs[@]}")
[ -z "$hits" ] || fail "canaries in relay logs: $hits"

replies=("$T"/out/refused-*.txt "$T/out/refused-env.json")
hits=$(find_canaries "${replies[@]}")
[ -z "$hits" ] || fail "canaries in what refused clients printed: $hits"

stores=()
for org in acme.test partner.test; do
	for f in "$(orgdir $org)"/state/*.mdb; do
		stores+=("$f")
	done
done
[ ${#stores[@]} -eq 4 ] || fail "expected two LMDB files per relay:" \
    "${stores[*]}"
hits=$(find_canaries "${stores[@]}")
[ -z "$hits" ] || fail "canaries in the stores: $hits"

# The sender of a message across organisations is sealed inside it:
# partner.test's store never holds alice's address.
grep -qaF alice@acme.test "$(orgdir partner.test)"/state/*.mdb &&
    fail "partner.test's store holds the sender's address"

# Make sure the search itself works: the recipient's address is in its
# relay's store, and the public keys in the relay's directory are found
# the way the secret ones would be.
grep -qaF bob@partner.test "$(orgdir partner.test)/state/data.mdb" ||
    fail "the store search finds not even bob's address"
"$PY" - "$(orgdir acme.test)/state/data.mdb" "$LIB_DIR" \
    "${IDF[alice@acme.test]}" <<'PYEOF' || fail "the store search is blind"
import sys
sys.path.insert(0, sys.argv[2])
import probe
me = probe.parse_identity(sys.argv[3])
sys.exit(0 if me["spk"] in open(sys.argv[1], "rb").read() else 1)
PYEOF

echo "checked $(wc -l <"$CANARY") canaries in ${#logs[@]} debug logs" \
    "(${#replies[@]} refusal outputs, ${#stores[@]} LMDB files):" \
    "none found"
echo "PASS: $TEST_NAME"
