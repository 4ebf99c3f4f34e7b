#!/bin/bash
# The client's command line: enrolment codes as people type them, a
# reason before every usage message, hints and exit codes for the usual
# mistakes, and a size limit that help and refusal state alike.
. "$(dirname "$0")/lib.sh"

setup_orgs acme.test
start_relay acme.test
new_user acme.test alice@acme.test
A=${IDF[alice@acme.test]}
CA=$(orgdir acme.test)/ca.crt
RELAY=127.0.0.1:$(client_port acme.test)

# run WHAT ARGS...: the client unbounded by an identity; stdout in
# $T/out/run.out, stderr in $T/out/run.err, status in RC.
run() {
	timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" "$@" >"$T/out/run.out" \
	    2>"$T/out/run.err"
	RC=$?
}

# expect STATUS REGEX WHAT: the last run ended with STATUS and said
# something matching REGEX on stderr.
expect() {
	[ $RC -eq "$1" ] || fail "$3: status $RC, want $1:" \
	    "$(cat "$T/out/run.out" "$T/out/run.err")"
	grep -Eq -- "$2" "$T/out/run.err" ||
	    fail "$3: stderr lacks '$2': $(cat "$T/out/run.err")"
}

run --version
[ $RC -eq 0 ] && grep -Eq '^sealpost [0-9]' "$T/out/run.out" ||
    fail "--version: status $RC: $(cat "$T/out/run.out" "$T/out/run.err")"

# 1. Enrolment codes: lower case, spaces for dashes, in one argument ...
code=$(add_user acme.test carol@acme.test) || fail "user add carol"
typed=$(tr 'A-Z-' 'a-z ' <<<"$code")
[ "$typed" != "$code" ] || fail "code '$code' has nothing to fold"
note_secret "$typed"
enrol acme.test carol@acme.test "$typed"

# ... or in four, unquoted.
code=$(add_user acme.test dave@acme.test) || fail "user add dave"
run -i "$T/id/dave" enrol dave@acme.test ${code//-/ } \
    --relay "$RELAY" --ca "$CA"
[ $RC -eq 0 ] || fail "code in four arguments: status $RC:" \
    "$(cat "$T/out/run.err")"

# A control character is refused before anything is sent.
code=$(add_user acme.test frank@acme.test) || fail "user add frank"
run -i "$T/id/frank" enrol frank@acme.test "${code:0:5}"$'\x01' \
    --relay "$RELAY" --ca "$CA"
expect 1 'enrolment code' "code with a control character"
[ ! -e "$T/id/frank" ] || fail "a refused enrol left an identity file"

# A --ca file that holds no certificate is a local error; the code is
# not spent by it.
echo "not a certificate" >"$T/notca.pem"
run -i "$T/id/frank" enrol frank@acme.test "$code" --relay "$RELAY" \
    --ca "$T/notca.pem"
expect 1 'notca.pem: not a PEM CA certificate' "--ca without a certificate"
[ ! -e "$T/id/frank" ] || fail "a refused enrol left an identity file"
enrol acme.test frank@acme.test "$code"

# 2. A reason before the usage.
run -i "$T/id/x" enrol x@acme.test ABCDE --relay "$RELAY"
expect 1 'needs --ca' "enrol without --ca"
grep -q '^usage:' "$T/out/run.err" || fail "enrol without --ca: no usage"
run -i "$A" send carol@acme.test --text hi --file /dev/null
expect 1 '--text and --file' "--text with --file"
run -i "$A" recv --bogus
expect 1 'unknown option --bogus' "unknown option"
run -i "$A" recv --wait
expect 1 'option --wait needs a value' "--wait without a value"
run -i "$A" recv --wait soon
expect 1 '--wait: soon' "--wait soon"

# -i after the command.
run lookup alice@acme.test -i "$A"
[ $RC -eq 0 ] && grep -q '^dev=' "$T/out/run.out" ||
    fail "-i after the command: status $RC: $(cat "$T/out/run.err")"

# No identity yet: say how to make one.
run -i "$T/id/nobody" recv
expect 1 "run 'sealpost enrol' first" "missing identity file"

# 3. A user without a device: lookup says so and succeeds, send fails
# with the relay's side as the cause (3).
add_user acme.test erin@acme.test >/dev/null || fail "user add erin"
run -i "$A" lookup erin@acme.test
expect 0 'erin@acme.test has no enrolled device' "lookup of erin"
[ ! -s "$T/out/run.out" ] || fail "lookup of erin: $(cat "$T/out/run.out")"
run -i "$A" send erin@acme.test --text "anyone there?"
expect 3 'erin@acme.test has no enrolled device' "send to erin"

# 4. Nothing queued: stdout stays empty, stderr says so.
run -i "$A" recv
expect 0 '^sealpost: no messages$' "recv with nothing queued"
[ ! -s "$T/out/run.out" ] || fail "recv of nothing: $(cat "$T/out/run.out")"

# 5. The size limit in send --help is the one send enforces, and holds.
run send --help
max=$(sed -nE 's/.*at most ([0-9]+) bytes.*/\1/p' "$T/out/run.out")
[ -n "$max" ] || fail "send --help states no size limit"
head -c $((max + 1)) /dev/urandom >"$T/over.bin"
run -i "$A" send carol@acme.test --file "$T/over.bin"
expect 1 "larger than $max bytes" "a file of $((max + 1)) bytes"
head -c "$max" /dev/urandom >"$T/max.bin"
send alice@acme.test carol@acme.test --file "$T/max.bin"
recv_expect carol@acme.test 15 "${SENT_IDS[0]}" alice@acme.test \
    "file:$T/max.bin"

# recv --help documents the JSON fields.
run recv --help
for f in id from fdev time type name text file verified; do
	grep -Eq "^ +$f +" "$T/out/run.out" || fail "recv --help lacks $f"
done

stop_relay acme.test
echo "PASS: $TEST_NAME"
