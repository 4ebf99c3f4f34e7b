#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets and their dictionaries.

    fuzz/mkcorpus.py [--check]

fuzz/corpus/<name>/ gets small binary seeds for fuzz_<name>, made from
spec/vectors/*.json when they are there and from cases written here:
every message type, envelopes really sealed to the device key the
envelope target opens with, addresses good and bad, relay byte streams
for the device session, relay configuration files.  fuzz/dict/<name>.dict
gets the tokens libFuzzer splices in (tools/fuzz passes them).

The output depends on nothing but the inputs: every key, nonce and
ephemeral key is fixed, so running it again changes no file.  Files
whose names start with "regress-" are inputs that once broke something;
they are kept as they are.  With --check nothing is written; the exit
status says whether the corpus is up to date.
"""

import hashlib
import json
import os
import re
import struct
import sys

import msgpack
from nacl import bindings as nb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VECTORS = os.path.join(ROOT, "spec", "vectors")
CORPUS = os.path.join(HERE, "corpus")
DICTS = os.path.join(HERE, "dict")

BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 524288)
LIFETIME = 7 * 24 * 3600
TS = 1735689600                 # 2025-01-01, as in the spec's vectors

# The keys of fuzz/fuzz.h: recipient device box key from the seed
# {1, 0, ...}, sender signing key from {2, 0, ...}.
DEV_PK, DEV_SK = nb.crypto_box_seed_keypair(bytes([1]) + bytes(31))
SND_PK, SND_SK = nb.crypto_sign_seed_keypair(bytes([2]) + bytes(31))
# Somebody else: signs validly with a key the fuzz targets do not know.
OTHER_PK, OTHER_SK = nb.crypto_sign_seed_keypair(bytes([9]) + bytes(31))
# The session target's device (fuzz_session.c: seeds 5 and 6).
SESS_SPK, _ = nb.crypto_sign_seed_keypair(bytes([5]) + bytes(31))
SESS_BPK, _ = nb.crypto_box_seed_keypair(bytes([6]) + bytes(31))

# The header fuzz_seal.c seals every input under.
SEAL_HDR = dict(id=b"\x11" * 16, to="bob@partner.test", dev=7,
                org="acme.test", ts=TS, exp=TS + LIFETIME)


def fixed(label, n):
    """n bytes that depend on label only."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.blake2b(label.encode() + struct.pack(">I", i)).digest()
        i += 1
    return out[:n]


def pack(obj):
    """Canonical msgpack: shortest forms, keys in the order given."""
    return msgpack.packb(obj, use_bin_type=True)


def frame(body):
    return struct.pack(">I", len(body)) + body


def slug(name):
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:60] or "x"


def load_vectors(name):
    path = os.path.join(VECTORS, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# --- messages -------------------------------------------------------

def msg(t, **fields):
    m = {"t": t}
    m.update(fields)
    return pack(m)


def devs(n):
    return [{"dev": i + 1, "spk": fixed("spk%d" % i, 32),
             "bpk": fixed("bpk%d" % i, 32)} for i in range(n)]


def every_message():
    """One body of each type, with plausible values."""
    env = sealed_envelope("hello")
    return [
        ("challenge", msg("challenge", nonce=fixed("nonce", 32),
                          domain="acme.test")),
        ("enrol", msg("enrol", rid=1, addr="alice@acme.test",
                      code="ABCDE-FGHIJ-KLMNO-PQRST", spk=SESS_SPK,
                      bpk=SESS_BPK, sig=fixed("sig", 64))),
        ("enrolled", msg("enrolled", rid=1, dev=3)),
        ("auth", msg("auth", rid=1, addr="alice@acme.test", dev=1,
                     sig=fixed("sig", 64))),
        ("ok", msg("ok", rid=1)),
        ("error", msg("error", rid=2, err=5, msg="no such user")),
        ("send", msg("send", rid=2, env=env)),
        ("accepted", msg("accepted", rid=2, id=fixed("id", 16))),
        ("fetch", msg("fetch", rid=3)),
        ("deliver", msg("deliver", seq=1, env=env)),
        ("fetched", msg("fetched", rid=3, n=1)),
        ("ack", msg("ack", rid=4, seq=1)),
        ("lookup", msg("lookup", rid=5, addr="bob@partner.test")),
        ("keys", msg("keys", rid=5, addr="bob@partner.test", devs=devs(2))),
        ("relay", msg("relay", rid=6, env=env)),
        ("ping", msg("ping", rid=7)),
    ]


def odd_messages():
    """Bodies at the edges of what the decoder accepts or refuses."""
    return [
        ("ping-rid-uint64", bytes.fromhex("82a174a470696e67a3726964")
         + b"\xcf" + struct.pack(">Q", 1)),
        ("ping-keys-reversed", pack({"rid": 1, "t": "ping"})),
        ("ping-rid-negative", pack({"t": "ping", "rid": -1})),
        ("ping-rid-2-32", pack({"t": "ping", "rid": 1 << 32})),
        ("ping-duplicate-t", b"\x83\xa1t\xa4ping\xa1t\xa4ping\xa3rid\x01"),
        ("ping-unknown-key", pack({"t": "ping", "rid": 1, "x": 0})),
        ("ack-seq-max", msg("ack", rid=1, seq=(1 << 64) - 1)),
        ("keys-32-devs", msg("keys", rid=1, addr="bob@partner.test",
                             devs=devs(32))),
        ("keys-33-devs", msg("keys", rid=1, addr="bob@partner.test",
                             devs=devs(33))),
        ("error-control-char", msg("error", rid=1, err=1, msg="a\nb")),
        ("error-200", msg("error", rid=1, err=14, msg="x" * 200)),
        ("error-201", msg("error", rid=1, err=14, msg="x" * 201)),
        ("lookup-upper", msg("lookup", rid=1, addr="Bob@Partner.test")),
        ("lookup-nul", msg("lookup", rid=1, addr="bob\0@partner.test")),
        ("enrol-code-65", msg("enrol", rid=1, addr="alice@acme.test",
                              code="C" * 65, spk=SESS_SPK, bpk=SESS_BPK,
                              sig=fixed("sig", 64))),
        ("send-env-empty", msg("send", rid=1, env=b"")),
        ("nested-5", b"\x81\xa1t" + b"\x91" * 4 + b"\x01"),
        ("float", b"\x82\xa1t\xa4ping\xa3rid\xcb" + bytes(8)),
        ("ext", b"\x82\xa1t\xa4ping\xa3rid\xd4\x01\x01"),
        ("map32-huge", b"\xdf\xff\xff\xff\xff"),
        ("array32-huge", b"\xdd\xff\xff\xff\xff"),
        ("str32-huge", b"\xdb\xff\xff\xff\xff"),
        ("reserved-c1", b"\xc1"),
    ]


# --- envelopes and seals --------------------------------------------

def u8str(s):
    b = s.encode()
    return bytes([len(b)]) + b


def transcript_hash(e, c):
    name = c["name"].encode()
    t = (b"sealpost-seal-v0" + e["id"] + u8str(e["to"]) +
         struct.pack(">I", e["dev"]) + u8str(e["org"]) +
         struct.pack(">QQ", e["ts"], e["exp"]) + u8str(c["from"]) +
         struct.pack(">I", c["fdev"]) + c["spk"] + u8str(c["type"]) +
         struct.pack(">H", len(name)) + name +
         struct.pack(">I", len(c["body"])) + c["body"])
    return hashlib.blake2b(t).digest()


def sign(data, sk):
    return nb.crypto_sign(data, sk)[:64]


def content(body, type_="text/plain", name="", frm="alice@acme.test",
            fdev=1, spk=SND_PK):
    return dict(frm=frm, fdev=fdev, spk=spk, type=type_, name=name,
                body=body)


def inner_map(e, c, sk=SND_SK, sig=None, extra=None, order=None):
    """The inner map of a seal, signed over e's header unless sig is
    given; extra adds keys, order rearranges them."""
    cc = {"from": c["frm"], "fdev": c["fdev"], "spk": c["spk"],
          "type": c["type"], "name": c["name"], "body": c["body"]}
    if sig is None:
        sig = sign(transcript_hash(e, cc), sk)
    m = dict(cc, sig=sig)
    if extra:
        m.update(extra)
    if order:
        m = {k: m[k] for k in order}
    return pack(m)


def bucket_for(n):
    for b in BUCKETS:
        if n < b:
            return b
    raise ValueError("too large")


def pad(p):
    b = bucket_for(len(p))
    return p + b"\x80" + bytes(b - len(p) - 1)


def seal_box(padded, label):
    """crypto_box_seal with an ephemeral key fixed by label."""
    esk = fixed("esk " + label, 32)
    epk = nb.crypto_scalarmult_base(esk)
    nonce = hashlib.blake2b(epk + DEV_PK, digest_size=24).digest()
    return epk + nb.crypto_box(padded, nonce, DEV_PK, esk)


def env_bytes(e, box, canonical=True):
    if canonical:
        return pack({"v": 0, "id": e["id"], "to": e["to"], "dev": e["dev"],
                     "org": e["org"], "ts": e["ts"], "exp": e["exp"],
                     "box": box})
    # The same header, keys reversed and every integer as uint64.
    def u64(v):
        return b"\xcf" + struct.pack(">Q", v)
    out = b"\x88"
    out += pack("box") + pack(box)
    out += pack("exp") + u64(e["exp"]) + pack("ts") + u64(e["ts"])
    out += pack("org") + pack(e["org"]) + pack("dev") + u64(e["dev"])
    out += pack("to") + pack(e["to"]) + pack("id") + pack(e["id"])
    out += pack("v") + u64(0)
    return out


def header(label, to="bob@partner.test", dev=7, org="acme.test",
           lifetime=LIFETIME):
    return dict(id=fixed("id " + label, 16), to=to, dev=dev, org=org,
                ts=TS, exp=TS + lifetime)


def sealed_envelope(label, body=None, raw_inner=None, padded=None,
                    canonical=True, **kw):
    e = header(label)
    c = content(body if body is not None else label.encode(), **kw)
    inner = raw_inner if raw_inner is not None else inner_map(e, c)
    box = seal_box(padded if padded is not None else pad(inner), label)
    return env_bytes(e, box, canonical)


def envelope_seeds():
    out = []
    add = out.append
    add(("sealed-text", sealed_envelope("text", b"Hello Bob")))
    add(("sealed-file", sealed_envelope(
        "file", bytes(range(256)) * 2, type_="application/pdf",
        name="Quote 2025.pdf")))
    add(("sealed-empty-body-utf8-name", sealed_envelope(
        "empty", b"", type_="image/png", name="Bild \u00fcber.png")))
    add(("sealed-bucket-1024", sealed_envelope("b1024", b"x" * 600)))
    add(("sealed-bucket-4096", sealed_envelope("b4096", b"y" * 3000)))
    add(("sealed-noncanonical-header", sealed_envelope(
        "noncanon", b"ints as uint64", canonical=False)))
    add(("sealed-other-sender", other_sender_envelope()))
    e = header("badsig")
    c = content(b"bad signature")
    add(("sealed-bad-signature", env_bytes(e, seal_box(pad(
        inner_map(e, c, sig=bytes(64))), "badsig"))))
    add(("sealed-no-padding-marker", env_bytes(e, seal_box(
        inner_map(e, c) + bytes(256 - len(inner_map(e, c))), "nopad"))))
    add(("sealed-padding-too-big", env_bytes(e, seal_box(
        inner_map(e, c) + b"\x80" + bytes(1023 - len(inner_map(e, c))),
        "bigpad"))))
    add(("sealed-inner-unknown-key", env_bytes(e, seal_box(pad(
        inner_map(e, c, extra={"x": 1})), "unk"))))
    add(("sealed-inner-reordered", env_bytes(e, seal_box(pad(
        inner_map(e, c, order=["sig", "body", "name", "type", "spk",
                               "fdev", "from"])), "reorder"))))
    add(("sealed-inner-not-a-map", env_bytes(e, seal_box(pad(
        pack([1, 2, 3])), "array"))))
    return out


def other_sender_envelope():
    e = header("other")
    c = content(b"signed by a key the target does not know",
                spk=OTHER_PK)
    return env_bytes(e, seal_box(pad(inner_map(e, c, sk=OTHER_SK)),
                                 "other"))


def seal_seeds():
    """Inner maps for fuzz_seal.c, signed over its fixed header."""
    e = SEAL_HDR
    out = []
    add = out.append
    add(("text", inner_map(e, content(b"Hello Bob"))))
    add(("file", inner_map(e, content(
        bytes(range(256)), type_="application/octet-stream",
        name="data.bin"))))
    add(("empty-body", inner_map(e, content(b"", name="\u00e4.txt"))))
    add(("fdev-max", inner_map(e, content(b"x", fdev=0xffffffff))))
    add(("other-sender", inner_map(e, content(b"x", spk=OTHER_PK),
                                   sk=OTHER_SK)))
    add(("bad-signature", inner_map(e, content(b"x"), sig=bytes(64))))
    add(("unknown-key", inner_map(e, content(b"x"), extra={"zz": 0})))
    add(("reordered", inner_map(e, content(b"x"), order=[
        "body", "sig", "from", "fdev", "spk", "type", "name"])))
    add(("type-64", inner_map(e, content(b"x", type_="t" * 64))))
    add(("type-65", inner_map(e, content(b"x", type_="t" * 65))))
    add(("name-slash", inner_map(e, content(b"x", name="a/b"))))
    add(("name-255", inner_map(e, content(b"x", name="n" * 255))))
    add(("from-upper", inner_map(e, content(b"x", frm="Alice@acme.test"))))
    add(("spk-31", pack({"from": "alice@acme.test", "fdev": 1,
                         "spk": bytes(31), "type": "text/plain",
                         "name": "", "body": b"", "sig": bytes(64)})))
    one = inner_map(e, content(b"z" * 20))
    # Inputs of exactly a bucket go in unpadded: padding by hand.
    add(("bucket-exact-good-padding",
         one + b"\x80" + bytes(256 - len(one) - 1)))
    add(("bucket-exact-no-marker", one + bytes(256 - len(one))))
    add(("bucket-exact-all-zero", bytes(256)))
    base = len(inner_map(e, content(b"")))
    add(("inner-254", inner_map(e, content(b"q" * (254 - base)))))
    add(("inner-255", inner_map(e, content(b"q" * (255 - base)))))
    add(("trailing-byte", inner_map(e, content(b"x")) + b"\x00"))
    add(("not-a-map", pack("just a string")))
    return out


# --- addresses ------------------------------------------------------

def address_seeds():
    good = ["alice@acme.test", "Alice.Smith@Mail.ACME.test",
            "a@b.co", "x_y-z.1@mail.acme.test", "0@0.a",
            "a" * 64 + "@" + ".".join(["b" * 63] * 2) + ".example",
            "bob@xn-a.test", "bob@a-b.c-d.test"]
    bad = ["", "@", "alice", "alice@", "@acme.test", "alice@acme",
           "alice@acme.test.", ".alice@acme.test", "alice.@acme.test",
           "al..ice@acme.test", "al._ice@acme.test", "alice@-acme.test",
           "alice@acme-.test", "alice@xn--acme.test", "alice@acme.123",
           "alice@127.0.0.1", "alice@[127.0.0.1]", "al ice@acme.test",
           "alice+tag@acme.test", "\"alice\"@acme.test",
           "alice@acme..test", "alice@@acme.test", "a@b@c.test",
           "a" * 65 + "@acme.test", "a@" + "b" * 64 + ".test",
           "a@" + ".".join(["b" * 63] * 4), "\u00e4lice@acme.test",
           "alice@acme.test\n", "alice\0@acme.test"]
    out = [("good-%d" % i, s.encode()) for i, s in enumerate(good)]
    out += [("bad-%d" % i, s.encode()) for i, s in enumerate(bad)]
    out += [("domain-acme", b"acme.test"), ("domain-one-label", b"test"),
            ("domain-253", (".".join(["a" * 63] * 3) + "." + "b" * 61)
             .encode())]
    return out


# --- session streams ------------------------------------------------

def sess_opt(enrol=False, expect=False, chunk=0):
    return bytes([(1 if enrol else 0) | (2 if expect else 0) | chunk << 2])


def challenge(domain="acme.test"):
    return frame(msg("challenge", nonce=fixed("session nonce", 32),
                     domain=domain))


def session_seeds():
    """Relay streams.  The device asks fetch (rid 1) and lookup (rid 2)
    before the challenge, answers it with rid 3, and once READY pings
    (rid 4), sends (rid 5) and acks each delivery (rid 6 on)."""
    env = sealed_envelope("session", b"for alice")
    ready = challenge() + frame(msg("ok", rid=3))
    replies = (frame(msg("deliver", seq=1, env=env)) +
               frame(msg("fetched", rid=1, n=1)) +
               frame(msg("keys", rid=2, addr="bob@partner.test",
                         devs=devs(2))) +
               frame(msg("ok", rid=4)) +
               frame(msg("accepted", rid=5, id=fixed("id session", 16))) +
               frame(msg("ok", rid=6)) +
               frame(msg("deliver", seq=2, env=env)))
    out = []
    add = out.append
    add(("auth-full-bytewise", sess_opt(chunk=1) + ready + replies))
    add(("auth-full-chunks-7", sess_opt(expect=True, chunk=7) + ready +
         replies))
    add(("auth-full-at-once", sess_opt() + ready + replies))
    add(("enrol", sess_opt(enrol=True, chunk=1) + challenge() +
         frame(msg("enrolled", rid=3, dev=9)) +
         frame(msg("fetched", rid=1, n=0))))
    add(("enrol-dev-0", sess_opt(enrol=True) + challenge() +
         frame(msg("enrolled", rid=3, dev=0))))
    add(("expect-other-domain", sess_opt(expect=True) +
         challenge("partner.test")))
    add(("auth-refused", sess_opt() + challenge() +
         frame(msg("error", rid=3, err=3, msg="auth failed"))))
    add(("error-non-fatal", sess_opt(chunk=1) + ready +
         frame(msg("error", rid=2, err=11, msg="peer unreachable")) +
         frame(msg("error", rid=5, err=10, msg=""))))
    add(("error-unknown-rid", sess_opt(chunk=1) + ready +
         frame(msg("error", rid=99, err=9, msg="try later"))))
    add(("reply-before-ready", sess_opt() + challenge() +
         frame(msg("fetched", rid=1, n=0))))
    add(("second-challenge", sess_opt() + ready + challenge()))
    add(("no-challenge", sess_opt() + frame(msg("ok", rid=3))))
    add(("bad-frame-length-0", sess_opt() + ready + b"\0\0\0\0"))
    add(("bad-frame-too-large", sess_opt() + ready + b"\x00\x10\x00\x01"))
    add(("bad-msgpack", sess_opt() + ready + frame(b"\xc1")))
    add(("partial-frame", sess_opt(chunk=3) + ready +
         frame(msg("ok", rid=4))[:-1]))
    return out


# --- relay configuration --------------------------------------------

FULL_CONFIG = """\
# A relay configuration using every setting.
domain = "acme.test";
state_dir = "state";
map_size = 1024;
log_level = "debug";
tls = { cert = "relay.crt"; key = "relay.key"; };
user = "nobody";
group = "nogroup";
client = { listen = "127.0.0.1"; port = 7400; idle_timeout = 300;
           max_connections = 10000; max_per_address = 256;
           accept_rate = 20; accept_burst = 100; handshake_timeout = 10;
           auth_timeout = 30; frame_timeout = 60; msg_rate = 1000;
           msg_burst = 2000; };
federation = { listen = "127.0.0.1"; port = 7401; connect_timeout = 10;
               retry_min = 1; retry_max = 300; };
limits = { max_lifetime = 2592000; code_ttl = 86400; };
peers = (
  { domain = "partner.test"; host = "127.0.0.1"; port = 7411;
    ca = "peer.crt"; },
  { domain = "supplier.example"; host = "relay.supplier.example";
    ca = "/tmp/sealpost-fuzz-tls.crt"; }
);
"""

MIN_CONFIG = """\
domain = "acme.test";
tls = { cert = "/tmp/sealpost-fuzz-tls.crt";
        key = "/tmp/sealpost-fuzz-tls.key"; };
"""


def config_seeds():
    bad = {
        "unknown-setting": MIN_CONFIG + "colour = \"blue\";\n",
        "unknown-in-group": MIN_CONFIG + "client = { prot = 1; };\n",
        "domain-upper": MIN_CONFIG.replace("acme.test", "ACME.test"),
        "domain-one-label": MIN_CONFIG.replace("acme.test", "acme"),
        "domain-int": MIN_CONFIG.replace("\"acme.test\"", "7"),
        "no-domain": MIN_CONFIG.split("\n", 1)[1],
        "no-tls": "domain = \"acme.test\";\n",
        "key-readable": MIN_CONFIG.replace("tls.key", "tls.crt"),
        "key-missing": MIN_CONFIG.replace("tls.key", "tls.nokey"),
        "key-directory": MIN_CONFIG.replace(
            "/tmp/sealpost-fuzz-tls.key", "/tmp"),
        "port-0": MIN_CONFIG + "client = { port = 0; };\n",
        "port-65536": MIN_CONFIG + "federation = { port = 65536; };\n",
        "port-int64": MIN_CONFIG + "client = { port = 7400L; };\n",
        "port-float": MIN_CONFIG + "client = { port = 7400.5; };\n",
        "retry-inverted": MIN_CONFIG +
        "federation = { retry_min = 60; retry_max = 5; };\n",
        "map-size-huge": MIN_CONFIG + "map_size = 9999999999L;\n",
        "log-level-bad": MIN_CONFIG + "log_level = \"loud\";\n",
        "listen-space": MIN_CONFIG + "client = { listen = \"a b\"; };\n",
        "peer-own-domain": MIN_CONFIG + "peers = ( { domain = \"acme.test\";"
        " host = \"h\"; ca = \"peer.crt\"; } );\n",
        "peer-twice": MIN_CONFIG + "peers = ( { domain = \"p.test\";"
        " host = \"h\"; ca = \"peer.crt\"; }, { domain = \"p.test\";"
        " host = \"h\"; ca = \"peer.crt\"; } );\n",
        "peer-missing-host": MIN_CONFIG +
        "peers = ( { domain = \"p.test\"; ca = \"peer.crt\"; } );\n",
        "peer-not-group": MIN_CONFIG + "peers = ( 1, \"x\" );\n",
        "peers-array": MIN_CONFIG + "peers = [ 1, 2 ];\n",
        "user-root": MIN_CONFIG + "user = \"root\";\n",
        "user-unknown": MIN_CONFIG + "user = \"no-such-user-here\";\n",
        "user-root-group": MIN_CONFIG +
        "user = \"nobody\"; group = \"root\";\n",
        "group-without-user": MIN_CONFIG + "group = \"nogroup\";\n",
        "msg-rate-0": MIN_CONFIG + "client = { msg_rate = 0; };\n",
        "handshake-timeout-301": MIN_CONFIG +
        "client = { handshake_timeout = 301; };\n",
        "syntax-error": "domain = ;\n",
        "include-self": "@include \"relay.conf\"\n",
        "empty": "",
    }
    out = [("full", FULL_CONFIG), ("minimal-absolute-paths", MIN_CONFIG),
           ("include-empty-file", "@include \"relay.crt\"\n" + MIN_CONFIG)]
    out += sorted(bad.items())
    return [(name, text.encode()) for name, text in out]


# --- from spec/vectors ----------------------------------------------

def from_vectors():
    """Seeds per corpus from the spec's test vectors, when present."""
    seeds = {k: [] for k in ("frame", "msg", "envelope", "address", "seal")}
    fr = load_vectors("frames")
    if fr:
        for v in fr.get("valid", []):
            b = bytes.fromhex(v["frame"])
            seeds["frame"].append(("v-" + slug(v["name"]), b))
            seeds["msg"].append(("v-" + slug(v["name"]), b[4:]))
        for v in fr.get("noncanonical", []):
            seeds["msg"].append(("vn-" + slug(v["name"]),
                                 bytes.fromhex(v["body"])))
        for v in fr.get("invalid", []):
            b = bytes.fromhex(v["body"])
            seeds["msg"].append(("vi-" + slug(v["name"]), b))
            if b:
                seeds["frame"].append(("vi-" + slug(v["name"]), frame(b)))
        for v in fr.get("peek", []):
            seeds["frame"].append(("vp-" + slug(v["name"]),
                                   bytes.fromhex(v["bytes"])))
    ev = load_vectors("envelopes")
    if ev:
        for kind in ("valid", "invalid"):
            for v in ev.get(kind, []):
                seeds["envelope"].append(("v%s-%s" % (kind[0],
                                                      slug(v["name"])),
                                          bytes.fromhex(v["bytes"])))
    sv = load_vectors("seal")
    if sv:
        for v in sv.get("cases", []):
            seeds["envelope"].append(("vs-" + slug(v["name"]),
                                      bytes.fromhex(v["envelope"])))
            if "inner" in v:
                seeds["seal"].append(("vs-" + slug(v["name"]),
                                      bytes.fromhex(v["inner"])))
        for v in sv.get("open_fail", []):
            seeds["envelope"].append(("vf-" + slug(v["name"]),
                                      bytes.fromhex(v["envelope"])))
    av = load_vectors("addresses")
    if av:
        for kind in ("addresses", "domains"):
            for i, v in enumerate(av.get(kind, [])):
                seeds["address"].append(("v%s-%02d" % (kind[0], i),
                                         bytes.fromhex(v["input_hex"])))
    return seeds


# --- dictionaries ---------------------------------------------------

TYPES = ["challenge", "enrol", "enrolled", "auth", "ok", "error", "send",
         "accepted", "fetch", "deliver", "fetched", "ack", "lookup", "keys",
         "relay", "ping"]
MSG_KEYS = ["t", "rid", "nonce", "domain", "addr", "code", "spk", "bpk",
            "sig", "dev", "err", "msg", "env", "id", "seq", "n", "devs"]
ENV_KEYS = ["v", "id", "to", "dev", "org", "ts", "exp", "box"]
INNER_KEYS = ["from", "fdev", "spk", "type", "name", "body", "sig"]
CONFIG_WORDS = ["domain", "state_dir", "map_size", "log_level", "tls",
                "cert", "key", "client", "listen", "port", "idle_timeout",
                "max_connections", "federation", "connect_timeout",
                "retry_min", "retry_max", "limits", "max_lifetime",
                "code_ttl", "peers", "host", "ca", "@include", "relay.crt",
                "user", "group", "nobody", "nogroup", "root",
                "max_per_address", "accept_rate", "accept_burst",
                "handshake_timeout", "auth_timeout", "frame_timeout",
                "msg_rate", "msg_burst",
                "relay.key", "peer.crt", "acme.test", "partner.test",
                "error", "warn", "info", "debug", " = ", "; ", "{ ", " }",
                "( ", " )", "[ ", " ]", "\"", "true", "0x", "L"]


def dict_line(b):
    return '"' + "".join("\\x%02x" % c if c < 0x20 or c > 0x7e or
                         c in (0x22, 0x5c) else chr(c) for c in b) + '"'


def msgpack_tokens():
    toks = [pack(s) for s in TYPES + MSG_KEYS + ENV_KEYS + INNER_KEYS]
    toks += [b"\xc4\x10", b"\xc4\x20", b"\xc4\x40", b"\xc5\x01\x00",
             b"\xcc", b"\xcd", b"\xce", b"\xcf", b"\xd9", b"\xda", b"\xdb",
             b"\xdc", b"\xdd", b"\xde", b"\xdf", b"\x00\x00\x00",
             pack("alice@acme.test"), pack("acme.test")]
    return toks


def dictionaries():
    mp = msgpack_tokens()
    addr = [b"@", b".", b"-", b"_", b"xn--", b".test", b"acme", b"A",
            b"a" * 63]
    return {
        "frame": mp, "msg": mp, "envelope": mp, "seal": mp,
        "session": mp, "address": addr,
        "config": [w.encode() for w in CONFIG_WORDS],
    }


# --- output ---------------------------------------------------------

def corpora():
    seeds = from_vectors()
    seeds["frame"] += [("h-" + n, frame(b)) for n, b in every_message()]
    seeds["frame"].append(("h-stream", b"".join(
        frame(b) for _, b in every_message())))
    seeds["msg"] += [("h-" + n, b) for n, b in every_message()]
    seeds["msg"] += [("h-" + n, b) for n, b in odd_messages()]
    seeds["envelope"] += [("h-" + n, b) for n, b in envelope_seeds()]
    seeds["seal"] += [("h-" + n, b) for n, b in seal_seeds()]
    seeds["address"] += [("h-" + n, b) for n, b in address_seeds()]
    seeds["session"] = [("h-" + n, b) for n, b in session_seeds()]
    seeds["config"] = [("h-" + n, b) for n, b in config_seeds()]
    return seeds


def plan():
    """Every file this script owns, path -> bytes."""
    files = {}
    for name, items in corpora().items():
        for fname, data in items:
            path = os.path.join(CORPUS, name, fname)
            assert path not in files, path
            files[path] = data
    for name, toks in dictionaries().items():
        text = "".join(dict_line(t) + "\n" for t in sorted(set(toks)))
        files[os.path.join(DICTS, name + ".dict")] = text.encode()
    return files


def owned(path):
    return not os.path.basename(path).startswith("regress-")


def main():
    check = sys.argv[1:] == ["--check"]
    files = plan()
    stale = []
    for d in {os.path.dirname(p) for p in files}:
        if os.path.isdir(d):
            stale += [os.path.join(d, f) for f in os.listdir(d)
                      if owned(f) and os.path.join(d, f) not in files]
    changed = [p for p, b in files.items() if not os.path.exists(p) or
               open(p, "rb").read() != b]
    if check:
        for p in sorted(stale + changed):
            print("out of date: " + os.path.relpath(p, ROOT))
        return 1 if stale or changed else 0
    for p in stale:
        os.unlink(p)
    for p in changed:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(files[p])
    total = sum(len(b) for p, b in files.items() if p.startswith(CORPUS))
    print("%d seed files, %d bytes; %d written, %d removed" %
          (sum(p.startswith(CORPUS) for p in files), total, len(changed),
           len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
