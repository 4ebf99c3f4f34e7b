#!/usr/bin/python3
"""
genvectors.py - write the Sealpost protocol version 0 test vectors.

This is a second implementation of the wire format, written from spec/
alone: it shares no code with the C library.  It needs only Debian's
python3-msgpack and python3-nacl.  Every input is fixed (derived from
labels with BLAKE2b, see fixed()), so each run writes the same files:

    spec/vectors/frames.json     every message, framing, invalid bodies
    spec/vectors/envelopes.json  envelope headers, buckets, clock checks
    spec/vectors/addresses.json  address and domain canonical forms
    spec/vectors/auth.json       enrolment and authentication signatures
    spec/vectors/seal.json       sealing and opening, byte by byte

Besides producing the expected bytes, the script decodes every vector
again with its own strict decoder and checks that each invalid one is
refused with the status it names, so the files agree with the spec's
rules as written here.  Usage: genvectors.py [OUTDIR]
"""

import json
import os
import struct
import sys

import msgpack
from nacl import bindings as nb

# --- protocol constants (spec/README.md, "Constants") ---

FRAME_HEADER = 4
FRAME_MAX = 1024 * 1024
MAX_DEPTH = 4
MAX_MAP = 16
MAX_ARRAY = 32
LOCAL_MAX = 64
DOMAIN_MAX = 253
ADDR_MAX = 254
ID_LEN = 16
NONCE_LEN = 32
SIGN_PK_LEN = 32
SIG_LEN = 64
BOX_PK_LEN = 32
SEAL_OVERHEAD = 48
ERRMSG_MAX = 200
CODE_MAX = 64
CTYPE_MAX = 64
NAME_MAX = 255
DEVICES_MAX = 32
BUCKETS = [256, 1024, 4096, 16384, 65536, 262144, 524288]
LIFETIME_MIN = 60
LIFETIME_MAX = 30 * 24 * 3600
CLOCK_SKEW = 300
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF


class Refused(Exception):
    """A decoder refused its input; .status is the sp_status name."""

    def __init__(self, status, why=""):
        super().__init__("%s: %s" % (status, why))
        self.status = status


# --- deterministic inputs ---

def blake2b(data, n):
    return nb.crypto_generichash_blake2b_salt_personal(data, digest_size=n)


def fixed(label, n):
    """n bytes derived from a label: BLAKE2b of "sealpost-vectors:" ||
    label || be32 counter, concatenated as long as needed."""
    out = b""
    i = 0
    while len(out) < n:
        out += blake2b(b"sealpost-vectors:" + label.encode() +
                       struct.pack(">I", i), 64)
        i += 1
    return out[:n]


def h(b):
    return b.hex()


# --- msgpack, canonical encoding as in spec/framing.md ---

class Map(list):
    """An ordered map: a list of (key, value) pairs, duplicates allowed."""


class Raw(bytes):
    """Bytes copied verbatim into an encoding (for invalid vectors)."""


def pack(v):
    """Canonical msgpack: the shortest form of every integer, string,
    binary, array and map header, as msgpack-c emits them."""
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v >= 0:
            if v < 0x80:
                return bytes([v])
            if v <= 0xFF:
                return b"\xcc" + struct.pack(">B", v)
            if v <= 0xFFFF:
                return b"\xcd" + struct.pack(">H", v)
            if v <= U32:
                return b"\xce" + struct.pack(">I", v)
            return b"\xcf" + struct.pack(">Q", v)
        if v >= -32:
            return struct.pack(">b", v)
        if v >= -0x80:
            return b"\xd0" + struct.pack(">b", v)
        if v >= -0x8000:
            return b"\xd1" + struct.pack(">h", v)
        if v >= -0x80000000:
            return b"\xd2" + struct.pack(">i", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n <= 0xFF:
            return b"\xd9" + struct.pack(">B", n) + b
        if n <= 0xFFFF:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n <= 0xFF:
            return b"\xc4" + struct.pack(">B", n) + bytes(v)
        if n <= 0xFFFF:
            return b"\xc5" + struct.pack(">H", n) + bytes(v)
        return b"\xc6" + struct.pack(">I", n) + bytes(v)
    if isinstance(v, Map):
        n = len(v)
        if n <= 15:
            out = bytes([0x80 | n])
        elif n <= 0xFFFF:
            out = b"\xde" + struct.pack(">H", n)
        else:
            out = b"\xdf" + struct.pack(">I", n)
        for k, x in v:
            out += pack(k) + pack(x)
        return out
    if isinstance(v, list):
        n = len(v)
        if n <= 15:
            out = bytes([0x90 | n])
        elif n <= 0xFFFF:
            out = b"\xdc" + struct.pack(">H", n)
        else:
            out = b"\xdd" + struct.pack(">I", n)
        for x in v:
            out += pack(x)
        return out
    raise TypeError(type(v))


def to_plain(v):
    """Map -> dict (for msgpack.packb); only for maps without duplicates."""
    if isinstance(v, Map):
        d = {}
        for k, x in v:
            assert k not in d
            d[k] = to_plain(x)
        return d
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    return v


def pack_checked(v):
    """pack(), cross-checked against python3-msgpack's own packer."""
    mine = pack(v)
    theirs = msgpack.packb(to_plain(v), use_bin_type=True)
    assert mine == theirs, (mine.hex(), theirs.hex())
    return mine


def mp_check(buf, max_depth=MAX_DEPTH, max_map=MAX_MAP,
             max_array=MAX_ARRAY):
    """The bounded pre-check of spec/framing.md: exactly one value, no
    container deeper than max_depth (the outermost one is depth 1), no
    count over its bound (checked when the header is read), every
    length inside the buffer, no ext and no float."""
    n = len(buf)

    def need(pos, k):
        if k > n - pos:
            raise Refused("SP_E_MALFORMED", "truncated")

    def walk(pos, depth):
        need(pos, 1)
        b = buf[pos]
        pos += 1
        if b <= 0x7F or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
            return pos
        if 0xA0 <= b <= 0xBF:
            k = b & 0x1F
            need(pos, k)
            return pos + k
        if 0x80 <= b <= 0x8F or b in (0xDE, 0xDF):
            if b <= 0x8F:
                cnt = b & 0x0F
            else:
                w = 2 if b == 0xDE else 4
                need(pos, w)
                cnt = int.from_bytes(buf[pos:pos + w], "big")
                pos += w
            if depth + 1 > max_depth:
                raise Refused("SP_E_LIMIT", "too deep")
            if cnt > max_map:
                raise Refused("SP_E_LIMIT", "map too large")
            for _ in range(2 * cnt):
                pos = walk(pos, depth + 1)
            return pos
        if 0x90 <= b <= 0x9F or b in (0xDC, 0xDD):
            if b <= 0x9F:
                cnt = b & 0x0F
            else:
                w = 2 if b == 0xDC else 4
                need(pos, w)
                cnt = int.from_bytes(buf[pos:pos + w], "big")
                pos += w
            if depth + 1 > max_depth:
                raise Refused("SP_E_LIMIT", "too deep")
            if cnt > max_array:
                raise Refused("SP_E_LIMIT", "array too large")
            for _ in range(cnt):
                pos = walk(pos, depth + 1)
            return pos
        fixed_len = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,
                     0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
        if b in fixed_len:
            need(pos, fixed_len[b])
            return pos + fixed_len[b]
        if b in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
            w = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
            need(pos, w)
            k = int.from_bytes(buf[pos:pos + w], "big")
            pos += w
            need(pos, k)
            return pos + k
        if b in (0xCA, 0xCB):
            raise Refused("SP_E_TYPE", "float")
        if b in (0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8):
            raise Refused("SP_E_TYPE", "ext")
        raise Refused("SP_E_MALFORMED", "reserved byte 0xc1")

    if n == 0:
        raise Refused("SP_E_MALFORMED", "empty")
    end = walk(0, 0)
    if end != n:
        raise Refused("SP_E_MALFORMED", "trailing bytes")


def mp_load(buf):
    """Check bounds, then decode with python3-msgpack keeping maps as
    ordered (key, value) lists so that duplicates stay visible."""
    mp_check(buf)
    return msgpack.unpackb(buf, raw=False, object_pairs_hook=Map,
                           strict_map_key=False,
                           unicode_errors="surrogateescape")


# --- addresses (spec/addresses.md) ---

LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"


def _local_ok(s):
    if not 1 <= len(s) <= LOCAL_MAX:
        return "local part length"
    for c in s:
        if c not in LOWER + DIGITS + "._-":
            return "character not allowed in local part"
    if s[0] in "._-" or s[-1] in "._-":
        return "local part starts or ends with punctuation"
    for a, b in zip(s, s[1:]):
        if a in "._-" and b in "._-":
            return "two punctuation characters in a row"
    return None


def _domain_ok(s):
    if not 1 <= len(s) <= DOMAIN_MAX:
        return "domain length"
    labels = s.split(".")
    if not 2 <= len(labels) <= 127:
        return "domain label count"
    for lab in labels:
        if not 1 <= len(lab) <= 63:
            return "label length"
        for c in lab:
            if c not in LOWER + DIGITS + "-":
                return "character not allowed in domain"
        if lab[0] == "-" or lab[-1] == "-":
            return "label starts or ends with '-'"
        if lab[2:4] == "--":
            return "IDNA-style label"
    if all(c in DIGITS for c in labels[-1]):
        return "last label all digits"
    return None


def _fold(raw):
    if any(b >= 0x80 for b in raw):
        return None
    return raw.decode("ascii").translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", LOWER))


def addr_canon(raw):
    """bytes -> canonical address, or None when refused."""
    s = _fold(raw)
    if s is None or len(s) > ADDR_MAX or s.count("@") != 1:
        return None
    local, domain = s.split("@")
    if _local_ok(local) or _domain_ok(domain):
        return None
    return s


def domain_canon(raw):
    s = _fold(raw)
    if s is None or _domain_ok(s):
        return None
    return s


# --- strict decoding of maps (spec/framing.md, "Decoding") ---

def printable(s):
    b = s.encode("utf-8", "surrogateescape")
    return all(0x20 <= c <= 0x7E for c in b)


def check_field(kind, v):
    """Type first (SP_E_TYPE), then range (SP_E_VALUE, SP_E_ADDRESS)."""
    if kind in ("u32", "u64", "v"):
        if type(v) is not int or v < 0:
            raise Refused("SP_E_TYPE", kind)
        if v > (U32 if kind == "u32" else U64):
            raise Refused("SP_E_VALUE", kind)
        if kind == "v" and v != 0:
            raise Refused("SP_E_VALUE", "version")
        return v
    if kind.startswith("bin"):
        if type(v) is not bytes:
            raise Refused("SP_E_TYPE", kind)
        if kind != "bin" and len(v) != int(kind[3:]):
            raise Refused("SP_E_VALUE", kind)
        if len(v) > FRAME_MAX:
            raise Refused("SP_E_TOO_LARGE", kind)
        return v
    if kind == "devs":
        if type(v) is not list:
            raise Refused("SP_E_TYPE", "devs")
        if len(v) > DEVICES_MAX:
            raise Refused("SP_E_LIMIT", "devs")
        return [decode_map(x, DEVKEYS) for x in v]
    if type(v) is not str:
        raise Refused("SP_E_TYPE", kind)
    raw = v.encode("utf-8", "surrogateescape")
    if kind == "addr":
        if addr_canon(raw) != v:
            raise Refused("SP_E_ADDRESS", "address")
    elif kind == "domain":
        if domain_canon(raw) != v:
            raise Refused("SP_E_ADDRESS", "domain")
    elif kind == "code":
        if not 1 <= len(raw) <= CODE_MAX or not printable(v):
            raise Refused("SP_E_VALUE", "code")
    elif kind == "errmsg":
        if len(raw) > ERRMSG_MAX or not printable(v):
            raise Refused("SP_E_VALUE", "msg")
    elif kind == "ctype":
        if not 1 <= len(raw) <= CTYPE_MAX or not printable(v):
            raise Refused("SP_E_VALUE", "type")
    elif kind == "fname":
        if len(raw) > NAME_MAX or "/" in v or \
                any(c < 0x20 or c == 0x7F for c in raw):
            raise Refused("SP_E_VALUE", "name")
    else:
        raise AssertionError(kind)
    return v


def decode_map(obj, fields, skip=()):
    """Keys are strings, each at most once, each known; then every
    field is present and checked in the listed order."""
    if not isinstance(obj, Map):
        raise Refused("SP_E_TYPE", "not a map")
    names = dict(fields)
    seen = {}
    for k, v in obj:
        if type(k) is not str:
            raise Refused("SP_E_TYPE", "key not a string")
        if k in seen:
            raise Refused("SP_E_UNKNOWN", "duplicate key " + k)
        if k not in names and k not in skip:
            raise Refused("SP_E_UNKNOWN", "unknown key " + k)
        seen[k] = v
    out = {}
    for k, kind in fields:
        if k not in seen:
            raise Refused("SP_E_MISSING", k)
        out[k] = check_field(kind, seen[k])
    return out


DEVKEYS = [("dev", "u32"), ("spk", "bin32"), ("bpk", "bin32")]

MESSAGES = {
    "challenge": [("nonce", "bin32"), ("domain", "domain")],
    "enrol": [("rid", "u32"), ("addr", "addr"), ("code", "code"),
              ("spk", "bin32"), ("bpk", "bin32"), ("sig", "bin64")],
    "enrolled": [("rid", "u32"), ("dev", "u32")],
    "auth": [("rid", "u32"), ("addr", "addr"), ("dev", "u32"),
             ("sig", "bin64")],
    "ok": [("rid", "u32")],
    "error": [("rid", "u32"), ("err", "u32"), ("msg", "errmsg")],
    "send": [("rid", "u32"), ("env", "bin")],
    "accepted": [("rid", "u32"), ("id", "bin16")],
    "fetch": [("rid", "u32")],
    "deliver": [("seq", "u64"), ("env", "bin")],
    "fetched": [("rid", "u32"), ("n", "u32")],
    "ack": [("rid", "u32"), ("seq", "u64")],
    "lookup": [("rid", "u32"), ("addr", "addr")],
    "keys": [("rid", "u32"), ("addr", "addr"), ("devs", "devs")],
    "relay": [("rid", "u32"), ("env", "bin")],
    "ping": [("rid", "u32")],
}

ENVELOPE = [("v", "v"), ("id", "bin16"), ("to", "addr"), ("dev", "u32"),
            ("org", "domain"), ("ts", "u64"), ("exp", "u64"),
            ("box", "bin")]

INNER = [("from", "addr"), ("fdev", "u32"), ("spk", "bin32"),
         ("type", "ctype"), ("name", "fname"), ("body", "bin"),
         ("sig", "bin64")]


def decode_msg(body):
    obj = mp_load(body)
    if not isinstance(obj, Map):
        raise Refused("SP_E_TYPE", "not a map")
    t = None
    for k, v in obj:
        if k == "t":
            t = v
            break
    if t is None:
        # A map without "t" may still hold a non-string key; that is
        # a type error before anything else.
        for k, _ in obj:
            if type(k) is not str:
                raise Refused("SP_E_TYPE", "key not a string")
        raise Refused("SP_E_MISSING", "t")
    if type(t) is not str:
        raise Refused("SP_E_TYPE", "t")
    if t not in MESSAGES:
        raise Refused("SP_E_UNKNOWN", "type " + t)
    fields = decode_map(obj, MESSAGES[t], skip=("t",))
    fields["t"] = t
    return fields


def decode_env(buf):
    obj = mp_load(buf)
    e = decode_map(obj, ENVELOPE)
    life = e["exp"] - e["ts"]
    if not LIFETIME_MIN <= life <= LIFETIME_MAX:
        raise Refused("SP_E_VALUE", "lifetime")
    if len(e["box"]) - SEAL_OVERHEAD not in BUCKETS:
        raise Refused("SP_E_VALUE", "box length")
    return e


def check_time(e, now):
    if e["ts"] > now + CLOCK_SKEW or now >= e["exp"]:
        return "SP_E_VALUE"
    return "SP_OK"


def encode_msg(m):
    """m: dict with "t" and the fields; returns the whole frame."""
    t = m["t"]
    pairs = Map([("t", t)])
    for k, kind in MESSAGES[t]:
        v = m[k]
        if kind == "devs":
            v = [Map([(dk, d[dk]) for dk, _ in DEVKEYS]) for d in v]
        check_field(kind, v if kind != "devs" else
                    [Map(x) for x in v])
        pairs.append((k, v))
    body = pack_checked(pairs)
    assert 1 <= len(body) <= FRAME_MAX
    return struct.pack(">I", len(body)) + body


# --- signatures and the seal (spec/sessions.md, spec/envelope.md) ---

def u8str(s, limit):
    b = s.encode()
    if len(b) > limit:
        raise Refused("SP_E_VALUE", "string over %d bytes" % limit)
    return bytes([len(b)]) + b


def sign(msg, sk):
    return nb.crypto_sign(msg, sk)[:SIG_LEN]


def verify(sig, msg, pk):
    try:
        nb.crypto_sign_open(sig + msg, pk)
        return True
    except Exception:
        return False


def enrol_transcript(nonce, domain, addr, spk, bpk):
    return (b"sealpost-enrol-v0" + nonce + u8str(domain, DOMAIN_MAX) +
            u8str(addr, ADDR_MAX) + spk + bpk)


def auth_transcript(nonce, domain, addr, dev):
    return (b"sealpost-auth-v0" + nonce + u8str(domain, DOMAIN_MAX) +
            u8str(addr, ADDR_MAX) + struct.pack(">I", dev))


def seal_transcript(e, c):
    name = c["name"].encode()
    return (b"sealpost-seal-v0" + e["id"] + u8str(e["to"], ADDR_MAX) +
            struct.pack(">I", e["dev"]) + u8str(e["org"], DOMAIN_MAX) +
            struct.pack(">QQ", e["ts"], e["exp"]) +
            u8str(c["from"], ADDR_MAX) + struct.pack(">I", c["fdev"]) +
            c["spk"] + u8str(c["type"], CTYPE_MAX) +
            struct.pack(">H", len(name)) + name +
            struct.pack(">I", len(c["body"])) + c["body"])


def bucket_for(n):
    for b in BUCKETS:
        if n + 1 <= b:
            return b
    return 0


def pad(p, bucket):
    return p + b"\x80" + b"\x00" * (bucket - len(p) - 1)


def unpad(p):
    s = p.rstrip(b"\x00")
    if not s or s[-1] != 0x80:
        raise Refused("SP_E_MALFORMED", "padding")
    return s[:-1]


def seal_nonce(epk, rpk):
    return blake2b(epk + rpk, 24)


def env_map(e, box):
    return Map([("v", 0), ("id", e["id"]), ("to", e["to"]),
                ("dev", e["dev"]), ("org", e["org"]), ("ts", e["ts"]),
                ("exp", e["exp"]), ("box", box)])


def inner_map(c, sig):
    return Map([("from", c["from"]), ("fdev", c["fdev"]),
                ("spk", c["spk"]), ("type", c["type"]),
                ("name", c["name"]), ("body", c["body"]), ("sig", sig)])


def seal(e, c, ssk, rpk, esk, inner_override=None):
    """Returns every intermediate value of the construction."""
    tr = seal_transcript(e, c)
    th = blake2b(tr, 64)
    sig = sign(th, ssk)
    inner = inner_override if inner_override is not None \
        else pack_checked(inner_map(c, sig))
    bucket = bucket_for(len(inner))
    if bucket == 0:
        raise Refused("SP_E_TOO_LARGE", "content")
    padded = pad(inner, bucket)
    epk = nb.crypto_scalarmult_base(esk)
    nonce = seal_nonce(epk, rpk)
    box = epk + nb.crypto_box(padded, nonce, rpk, esk)
    assert len(box) == bucket + SEAL_OVERHEAD
    envelope = pack_checked(env_map(e, box))
    return dict(transcript=tr, hash=th, sig=sig, inner=inner,
                bucket=bucket, padded=padded, epk=epk, nonce=nonce,
                box=box, envelope=envelope)


def open_env(envelope, rpk, rsk):
    """The opening steps of spec/envelope.md; returns the content."""
    e = decode_env(envelope)
    box = e["box"]
    try:
        padded = nb.crypto_box_seal_open(box, rpk, rsk)
    except Exception:
        raise Refused("SP_E_CRYPTO", "box")
    # The same thing done by hand, to show the construction.
    epk = box[:32]
    assert nb.crypto_box_open(box[32:], seal_nonce(epk, rpk), epk,
                              rsk) == padded
    inner = unpad(padded)
    c = decode_map(mp_load(inner), INNER)
    tr = seal_transcript(e, c)
    if not verify(c["sig"], blake2b(tr, 64), c["spk"]):
        raise Refused("SP_E_CRYPTO", "signature")
    return c


# --- identities used throughout ---

def sign_keys(label):
    seed = fixed(label + " sign seed", 32)
    pk, sk = nb.crypto_sign_seed_keypair(seed)
    return seed, pk, sk


def box_keys(label):
    sk = fixed(label + " box secret", 32)
    return sk, nb.crypto_scalarmult_base(sk)


class Device:
    def __init__(self, label, addr, dev):
        self.addr = addr
        self.dev = dev
        self.seed, self.spk, self.ssk = sign_keys(label)
        self.bsk, self.bpk = box_keys(label)

    def json(self, secret=True):
        d = {"addr": self.addr, "dev": self.dev}
        if secret:
            d["sign_seed"] = h(self.seed)
            d["ssk"] = h(self.ssk)
        d["spk"] = h(self.spk)
        if secret:
            d["bsk"] = h(self.bsk)
        d["bpk"] = h(self.bpk)
        return d


ALICE = Device("alice", "alice@acme.test", 1)
CAROL = Device("carol", "carol@acme.test", 2)
BOB = Device("bob", "bob@partner.test", 7)
BOB2 = Device("bob phone", "bob@partner.test", 9)

T0 = 1735689600                 # 2025-01-01T00:00:00Z
WEEK = 7 * 24 * 3600


def long_domain(n, tld="test"):
    """A canonical domain of exactly n characters ending in tld."""
    rest = n - len(tld)          # each label takes its length + a dot
    labels = []
    ch = "abcdefghij"
    while rest > 0:
        k = min(63, rest - 1)
        if rest - (k + 1) == 1:
            k -= 1
        labels.append(ch[len(labels) % len(ch)] * k)
        rest -= k + 1
    d = ".".join(labels + [tld])
    assert len(d) == n and _domain_ok(d) is None, (n, d)
    return d


def long_addr(n):
    """A canonical address of exactly n bytes (n >= 2 + 1 + 3)."""
    local = "u" * min(LOCAL_MAX, n - 1 - 6)
    d = long_domain(n - len(local) - 1)
    a = local + "@" + d
    assert len(a) == n and addr_canon(a.encode()) == a
    return a


# --- frames.json ---

def jfields(m):
    """Message fields in JSON form: bin as hex, ints as numbers (as a
    decimal string from 2^63 up), strings as strings."""
    out = {}
    for k, v in m.items():
        if isinstance(v, bytes):
            out[k] = h(v)
        elif isinstance(v, int) and v >= 2 ** 63:
            out[k] = str(v)
        elif k == "devs":
            out[k] = [{"dev": d["dev"], "spk": h(d["spk"]),
                       "bpk": h(d["bpk"])} for d in v]
        else:
            out[k] = v
    return out


def sample_envelope():
    e = dict(id=fixed("envelope id 1", 16), to=BOB.addr, dev=BOB.dev,
             org="acme.test", ts=T0, exp=T0 + WEEK)
    c = dict(**{"from": ALICE.addr}, fdev=ALICE.dev, spk=ALICE.spk,
             type="text/plain", name="", body=b"Hello Bob!")
    return e, seal(e, c, ALICE.ssk, BOB.bpk,
                   fixed("ephemeral frames", 32))["envelope"]


def frames():
    nonce = fixed("challenge nonce 1", 32)
    _, env = sample_envelope()
    esig = sign(enrol_transcript(nonce, "acme.test", ALICE.addr,
                                 ALICE.spk, ALICE.bpk), ALICE.ssk)
    asig = sign(auth_transcript(nonce, "acme.test", ALICE.addr,
                                ALICE.dev), ALICE.ssk)
    eid = fixed("envelope id 1", 16)

    def dk(d):
        return {"dev": d.dev, "spk": d.spk, "bpk": d.bpk}

    many = []
    for i in range(16):
        d = Device("many %d" % i, "bob@partner.test", 100 + i)
        many.append(dk(d))

    many32 = many + [dict(d, dev=d["dev"] + 16) for d in many]

    valid = [
        ("challenge", {"t": "challenge", "nonce": nonce,
                       "domain": "acme.test"}),
        ("challenge, 253-character domain",
         {"t": "challenge", "nonce": nonce, "domain": long_domain(253)}),
        ("enrol", {"t": "enrol", "rid": 1, "addr": ALICE.addr,
                   "code": "7K3QM-4XPAB-9TRDZ-H2W6N", "spk": ALICE.spk,
                   "bpk": ALICE.bpk, "sig": esig}),
        ("enrol, 64-character code",
         {"t": "enrol", "rid": 1, "addr": ALICE.addr,
          "code": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 2,
          "spk": ALICE.spk, "bpk": ALICE.bpk, "sig": esig}),
        ("enrolled", {"t": "enrolled", "rid": 1, "dev": 1}),
        ("auth", {"t": "auth", "rid": 1, "addr": ALICE.addr,
                  "dev": ALICE.dev, "sig": asig}),
        ("ok", {"t": "ok", "rid": 2}),
        ("error", {"t": "error", "rid": 3, "err": 5,
                   "msg": "no such user"}),
        ("error, rid 0 and empty text",
         {"t": "error", "rid": 0, "err": 1, "msg": ""}),
        ("error, 32-character text (str8)",
         {"t": "error", "rid": 3, "err": 9, "msg": "x" * 32}),
        ("error, 200-character text",
         {"t": "error", "rid": 3, "err": 14, "msg": "y" * 200}),
        ("send", {"t": "send", "rid": 4, "env": env}),
        ("accepted", {"t": "accepted", "rid": 4, "id": eid}),
        ("fetch", {"t": "fetch", "rid": 5}),
        ("deliver", {"t": "deliver", "seq": 1, "env": env}),
        ("fetched", {"t": "fetched", "rid": 5, "n": 0}),
        ("fetched, n 64", {"t": "fetched", "rid": 5, "n": 64}),
        ("ack", {"t": "ack", "rid": 6, "seq": 1}),
        ("ack, seq 2^32 (uint64)", {"t": "ack", "rid": 6,
                                    "seq": 2 ** 32}),
        ("ack, largest seq", {"t": "ack", "rid": 6, "seq": U64}),
        ("lookup", {"t": "lookup", "rid": 7, "addr": BOB.addr}),
        ("lookup, 254-byte address",
         {"t": "lookup", "rid": 7, "addr": long_addr(254)}),
        ("keys", {"t": "keys", "rid": 7, "addr": BOB.addr,
                  "devs": [dk(BOB), dk(BOB2)]}),
        ("keys, no devices", {"t": "keys", "rid": 7, "addr": BOB.addr,
                              "devs": []}),
        ("keys, 16 devices (array16)",
         {"t": "keys", "rid": 7, "addr": BOB.addr, "devs": many}),
        ("keys, 32 devices (the most allowed)",
         {"t": "keys", "rid": 7, "addr": BOB.addr, "devs": many32}),
        ("relay", {"t": "relay", "rid": 8, "env": env}),
        ("ping", {"t": "ping", "rid": 9}),
    ]
    for rid in (127, 128, 255, 256, 65535, 65536, U32):
        valid.append(("ping, rid %d" % rid, {"t": "ping", "rid": rid}))

    out_valid = []
    for name, m in valid:
        frame = encode_msg(m)
        got = decode_msg(frame[4:])
        assert got == {k: v for k, v in m.items()}, name
        out_valid.append({"name": name, "msg": jfields(m),
                          "frame": h(frame)})

    # Valid but not canonical: a receiver accepts these.
    ping = {"t": "ping", "rid": 1}
    noncanon = [
        ("rid as uint32", Map([("t", "ping"),
                               ("rid", Raw(b"\xce\x00\x00\x00\x01"))]),
         ping),
        ("rid as uint64", Map([("t", "ping"), ("rid", Raw(
            b"\xcf" + struct.pack(">Q", 1)))]), ping),
        ("rid as int8 holding a positive value",
         Map([("t", "ping"), ("rid", Raw(b"\xd0\x01"))]), ping),
        ("keys in another order", Map([("rid", 1), ("t", "ping")]), ping),
        ("t as str8", Map([("t", Raw(b"\xd9\x04ping")), ("rid", 1)]), ping),
        ("nonce as bin16", Map([("t", "challenge"), ("nonce", Raw(
            b"\xc5\x00\x20" + nonce)), ("domain", "acme.test")]),
         {"t": "challenge", "nonce": nonce, "domain": "acme.test"}),
        ("map16 header", Raw(b"\xde\x00\x02" + pack("t") + pack("ping") +
                             pack("rid") + pack(1)), ping),
    ]
    out_nc = []
    for name, obj, m in noncanon:
        body = pack(obj)
        assert decode_msg(body) == m, name
        out_nc.append({"name": name, "body": h(body), "msg": jfields(m),
                       "frame": h(encode_msg(m))})

    # Refused bodies, each with exactly one fault.
    ping_body = pack(Map([("t", "ping"), ("rid", 1)]))
    env_bad = pack(Map([("t", "send"), ("rid", 4), ("env", "text")]))

    def P(*pairs):
        return pack(Map(list(pairs)))

    def nest(k):
        v = 1
        for _ in range(k):
            v = [v]
        return v

    auth_ok = [("t", "auth"), ("rid", 1), ("addr", ALICE.addr),
               ("dev", 1), ("sig", asig)]
    invalid = [
        ("empty body", b"", "SP_E_MALFORMED"),
        ("trailing byte", ping_body + b"\xc0", "SP_E_MALFORMED"),
        ("truncated", ping_body[:-1], "SP_E_MALFORMED"),
        ("string length past the end",
         b"\x82" + pack("t") + b"\xa5pin", "SP_E_MALFORMED"),
        ("bin length past the end",
         b"\x83" + pack("t") + pack("accepted") + pack("rid") + pack(1) +
         pack("id") + b"\xc4\x10" + b"\x00" * 8, "SP_E_MALFORMED"),
        ("reserved byte 0xc1", P(("t", "ping"), ("rid", Raw(b"\xc1"))),
         "SP_E_MALFORMED"),
        ("top level is an array", pack(["ping", 1]), "SP_E_TYPE"),
        ("top level is an integer", pack(1), "SP_E_TYPE"),
        ("integer key", P(("t", "ping"), ("rid", 1), (1, 0)), "SP_E_TYPE"),
        ("no t", P(("rid", 1)), "SP_E_MISSING"),
        ("t not a string", P(("t", 1), ("rid", 1)), "SP_E_TYPE"),
        ("t as bin", P(("t", b"ping"), ("rid", 1)), "SP_E_TYPE"),
        ("unknown type", P(("t", "pong"), ("rid", 1)), "SP_E_UNKNOWN"),
        ("type in upper case", P(("t", "PING"), ("rid", 1)),
         "SP_E_UNKNOWN"),
        ("unknown key", P(("t", "ping"), ("rid", 1), ("x", 0)),
         "SP_E_UNKNOWN"),
        ("duplicate key", P(("t", "ping"), ("rid", 1), ("rid", 1)),
         "SP_E_UNKNOWN"),
        ("key of another type", P(("t", "ping"), ("rid", 1),
                                  ("addr", BOB.addr)), "SP_E_UNKNOWN"),
        ("missing rid", P(("t", "ping")), "SP_E_MISSING"),
        ("missing sig", P(*auth_ok[:-1]), "SP_E_MISSING"),
        ("challenge missing domain", P(("t", "challenge"),
                                       ("nonce", nonce)), "SP_E_MISSING"),
        ("rid as string", P(("t", "ping"), ("rid", "1")), "SP_E_TYPE"),
        ("rid negative", P(("t", "ping"), ("rid", -1)), "SP_E_TYPE"),
        ("rid nil", P(("t", "ping"), ("rid", None)), "SP_E_TYPE"),
        ("rid true", P(("t", "ping"), ("rid", True)), "SP_E_TYPE"),
        ("rid float", P(("t", "ping"), ("rid", Raw(
            b"\xcb" + struct.pack(">d", 1.0)))), "SP_E_TYPE"),
        ("rid ext", P(("t", "ping"), ("rid", Raw(b"\xd4\x01\x01"))),
         "SP_E_TYPE"),
        ("rid 2^32", P(("t", "ping"), ("rid", 2 ** 32)), "SP_E_VALUE"),
        ("dev 2^32", P(("t", "enrolled"), ("rid", 1), ("dev", 2 ** 32)),
         "SP_E_VALUE"),
        ("err 2^32", P(("t", "error"), ("rid", 1), ("err", 2 ** 32),
                       ("msg", "")), "SP_E_VALUE"),
        ("seq as string", P(("t", "ack"), ("rid", 1), ("seq", "1")),
         "SP_E_TYPE"),
        ("seq negative", P(("t", "ack"), ("rid", 1), ("seq", -5)),
         "SP_E_TYPE"),
        ("nonce as string", P(("t", "challenge"), ("nonce", "n" * 32),
                              ("domain", "acme.test")), "SP_E_TYPE"),
        ("nonce of 31 bytes", P(("t", "challenge"), ("nonce", nonce[:31]),
                                ("domain", "acme.test")), "SP_E_VALUE"),
        ("id of 17 bytes", P(("t", "accepted"), ("rid", 1),
                             ("id", eid + b"\x00")), "SP_E_VALUE"),
        ("sig of 63 bytes", P(*(auth_ok[:-1] + [("sig", asig[:63])])),
         "SP_E_VALUE"),
        ("addr as bin", P(("t", "lookup"), ("rid", 1),
                          ("addr", BOB.addr.encode())), "SP_E_TYPE"),
        ("addr not canonical (upper case)",
         P(("t", "lookup"), ("rid", 1), ("addr", "Bob@partner.test")),
         "SP_E_ADDRESS"),
        ("addr with a one-label domain",
         P(("t", "lookup"), ("rid", 1), ("addr", "bob@partner")),
         "SP_E_ADDRESS"),
        ("domain with a trailing dot",
         P(("t", "challenge"), ("nonce", nonce), ("domain", "acme.test.")),
         "SP_E_ADDRESS"),
        ("code empty", P(("t", "enrol"), ("rid", 1), ("addr", ALICE.addr),
                         ("code", ""), ("spk", ALICE.spk),
                         ("bpk", ALICE.bpk), ("sig", esig)), "SP_E_VALUE"),
        ("code of 65 characters",
         P(("t", "enrol"), ("rid", 1), ("addr", ALICE.addr),
           ("code", "A" * 65), ("spk", ALICE.spk), ("bpk", ALICE.bpk),
           ("sig", esig)), "SP_E_VALUE"),
        ("code with a newline",
         P(("t", "enrol"), ("rid", 1), ("addr", ALICE.addr),
           ("code", "K7QM\n4XPA"), ("spk", ALICE.spk), ("bpk", ALICE.bpk),
           ("sig", esig)), "SP_E_VALUE"),
        ("code not ASCII",
         P(("t", "enrol"), ("rid", 1), ("addr", ALICE.addr),
           ("code", "K7QM-\u00e9"), ("spk", ALICE.spk),
           ("bpk", ALICE.bpk), ("sig", esig)), "SP_E_VALUE"),
        ("msg of 201 characters",
         P(("t", "error"), ("rid", 1), ("err", 2), ("msg", "z" * 201)),
         "SP_E_VALUE"),
        ("msg with a control character",
         P(("t", "error"), ("rid", 1), ("err", 2), ("msg", "bad\x07")),
         "SP_E_VALUE"),
        ("env as string", env_bad, "SP_E_TYPE"),
        ("devs not an array", P(("t", "keys"), ("rid", 1),
                                ("addr", BOB.addr), ("devs", Map())),
         "SP_E_TYPE"),
        ("devs element not a map", P(("t", "keys"), ("rid", 1),
                                     ("addr", BOB.addr), ("devs", [7])),
         "SP_E_TYPE"),
        ("devs element missing bpk",
         P(("t", "keys"), ("rid", 1), ("addr", BOB.addr),
           ("devs", [Map([("dev", 7), ("spk", BOB.spk)])])),
         "SP_E_MISSING"),
        ("devs element with an unknown key",
         P(("t", "keys"), ("rid", 1), ("addr", BOB.addr),
           ("devs", [Map([("dev", 7), ("spk", BOB.spk), ("bpk", BOB.bpk),
                          ("name", "phone")])])), "SP_E_UNKNOWN"),
        ("map of 17 entries",
         P(*([("t", "ping"), ("rid", 1)] +
             [("k%02d" % i, 0) for i in range(15)])), "SP_E_LIMIT"),
        ("map32 declaring 2^32-1 entries", b"\xdf\xff\xff\xff\xff",
         "SP_E_LIMIT"),
        ("map16 declaring 65535 entries", b"\xde\xff\xff" + pack("t") +
         pack("ping"), "SP_E_LIMIT"),
        ("devs of 33 elements",
         P(("t", "keys"), ("rid", 1), ("addr", BOB.addr),
           ("devs", [Map([("dev", i), ("spk", BOB.spk), ("bpk", BOB.bpk)])
                     for i in range(33)])), "SP_E_LIMIT"),
        ("array32 declaring 2^32-1 elements",
         P(("t", "keys"), ("rid", 1), ("addr", BOB.addr),
           ("devs", Raw(b"\xdd\xff\xff\xff\xff"))), "SP_E_LIMIT"),
        ("nesting depth 5", P(("t", "ping"), ("rid", 1), ("x", nest(4))),
         "SP_E_LIMIT"),
        ("nesting depth 4 is within the bound (unknown key)",
         P(("t", "ping"), ("rid", 1), ("x", nest(3))), "SP_E_UNKNOWN"),
        ("map of 16 entries is within the bound (unknown keys)",
         P(*([("t", "ping"), ("rid", 1)] +
             [("k%02d" % i, 0) for i in range(14)])), "SP_E_UNKNOWN"),
        ("nesting depth 100", b"\x91" * 99 + b"\x01", "SP_E_LIMIT"),
    ]
    out_inv = []
    for name, body, status in invalid:
        try:
            decode_msg(body)
            raise AssertionError("accepted: " + name)
        except Refused as r:
            assert r.status == status, (name, r.status, status)
        out_inv.append({"name": name, "body": h(body), "status": status})

    # The encoder refuses what the decoder would refuse.
    enc_refused = [
        ("address not canonical", {"t": "lookup", "rid": 1,
                                   "addr": "Bob@partner.test"}),
        ("address with two @", {"t": "lookup", "rid": 1,
                                "addr": "bob@x@partner.test"}),
        ("domain not canonical", {"t": "challenge", "nonce": nonce,
                                  "domain": "acme"}),
        ("empty code", {"t": "enrol", "rid": 1, "addr": ALICE.addr,
                        "code": "", "spk": ALICE.spk, "bpk": ALICE.bpk,
                        "sig": esig}),
        ("code with a tab", {"t": "enrol", "rid": 1, "addr": ALICE.addr,
                             "code": "AB\tCD", "spk": ALICE.spk,
                             "bpk": ALICE.bpk, "sig": esig}),
        ("error text with a newline", {"t": "error", "rid": 1, "err": 2,
                                       "msg": "two\nlines"}),
    ]
    out_er = []
    for name, m in enc_refused:
        try:
            encode_msg(m)
            raise AssertionError("encoded: " + name)
        except Refused:
            pass
        out_er.append({"name": name, "msg": jfields(m),
                       "status": "SP_E_VALUE"})

    peek = [
        ("empty buffer", b"", 0, None),
        ("three bytes of a header", b"\x00\x00\x00", 0, None),
        ("zero length", b"\x00\x00\x00\x00", "SP_E_MALFORMED", None),
        ("length 1 MiB + 1", b"\x00\x10\x00\x01", "SP_E_TOO_LARGE", None),
        ("length 2^32-1", b"\xff\xff\xff\xff", "SP_E_TOO_LARGE", None),
        ("length 1 MiB, body not yet there", b"\x00\x10\x00\x00", 0,
         None),
        ("half a ping", encode_msg(ping)[:5], 0, None),
        ("a whole ping", encode_msg(ping), 1, len(ping_body)),
        ("a ping and the start of the next frame",
         encode_msg(ping) + b"\x00\x00", 1, len(ping_body)),
    ]
    out_peek = []
    for name, b, res, blen in peek:
        d = {"name": name, "bytes": h(b), "max": FRAME_MAX,
             "result": res}
        if blen is not None:
            d["body_len"] = blen
        out_peek.append(d)

    return {
        "about": "Sealpost v0 frames (spec/framing.md, spec/messages.md)."
                 " valid: msg -> exact frame (4-byte length + body);"
                 " decoding frame[4:] gives msg back. noncanonical: body"
                 " must decode to msg; re-encoding gives frame. invalid:"
                 " body must be refused with status. encode_refused: msg"
                 " must not be encoded. peek: sp_frame_peek(bytes, max)"
                 " result (1 whole frame, 0 need more, or a status)."
                 " Binary fields are hex; integers from 2^63 up are"
                 " decimal strings.",
        "valid": out_valid,
        "noncanonical": out_nc,
        "invalid": out_inv,
        "encode_refused": out_er,
        "peek": out_peek,
    }


# --- envelopes.json ---

def jenv(e):
    d = {}
    for k in ("id", "to", "dev", "org", "ts", "exp", "box"):
        if k in e:
            v = e[k]
            d[k] = h(v) if isinstance(v, bytes) else v
    return d


def envelopes():
    base = dict(id=fixed("envelope id 2", 16), to=BOB.addr, dev=BOB.dev,
                org="acme.test", ts=T0, exp=T0 + WEEK)
    box304 = fixed("opaque box 304", 304)
    box1072 = fixed("opaque box 1072", 1072)

    valid = [
        ("smallest bucket", dict(base, box=box304)),
        ("second bucket", dict(base, box=box1072)),
        ("shortest lifetime", dict(base, exp=T0 + LIFETIME_MIN,
                                   box=box304)),
        ("longest lifetime", dict(base, exp=T0 + LIFETIME_MAX,
                                  box=box304)),
        ("times past 2^32", dict(base, ts=2 ** 33, exp=2 ** 33 + WEEK,
                                 box=box304)),
        ("largest device id, same organisation",
         dict(base, to=CAROL.addr, dev=U32, box=box304)),
    ]
    out_valid = []
    for name, e in valid:
        b = pack_checked(env_map(e, e["box"]))
        got = decode_env(b)
        assert got == dict(e, v=0), name
        out_valid.append({"name": name, "env": jenv(e), "bytes": h(b)})

    def E(**over):
        m = env_map(base, box304)
        out = Map()
        for k, v in m:
            if k in over:
                if over[k] is not DROP:
                    out.append((k, over[k]))
            else:
                out.append((k, v))
        return out

    DROP = object()
    good = pack(E())
    invalid = [
        ("version 1", pack(E(v=1)), "SP_E_VALUE"),
        ("version missing", pack(E(v=DROP)), "SP_E_MISSING"),
        ("box missing", pack(E(box=DROP)), "SP_E_MISSING"),
        ("id of 15 bytes", pack(E(id=base["id"][:15])), "SP_E_VALUE"),
        ("id as string", pack(E(id="0123456789abcdef")), "SP_E_TYPE"),
        ("to not canonical", pack(E(to="Bob@partner.test")),
         "SP_E_ADDRESS"),
        ("to without a domain", pack(E(to="bob")), "SP_E_ADDRESS"),
        ("org not canonical", pack(E(org="ACME.test")), "SP_E_ADDRESS"),
        ("org is an address", pack(E(org="alice@acme.test")),
         "SP_E_ADDRESS"),
        ("dev 2^32", pack(E(dev=2 ** 32)), "SP_E_VALUE"),
        ("ts negative", pack(E(ts=-1)), "SP_E_TYPE"),
        ("lifetime 59 seconds", pack(E(exp=T0 + 59)), "SP_E_VALUE"),
        ("lifetime 30 days + 1 second",
         pack(E(exp=T0 + LIFETIME_MAX + 1)), "SP_E_VALUE"),
        ("exp before ts", pack(E(exp=T0 - WEEK)), "SP_E_VALUE"),
        ("box of 303 bytes", pack(E(box=box304[:303])), "SP_E_VALUE"),
        ("box of 305 bytes", pack(E(box=box304 + b"\x00")), "SP_E_VALUE"),
        ("box of 48 bytes", pack(E(box=box304[:48])), "SP_E_VALUE"),
        ("box of 256 bytes (bucket without overhead)",
         pack(E(box=box304[:256])), "SP_E_VALUE"),
        ("box as string", pack(E(box="x" * 304)), "SP_E_TYPE"),
        ("unknown key", pack(Map(list(E()) + [("from", ALICE.addr)])),
         "SP_E_UNKNOWN"),
        ("duplicate key", pack(Map(list(E()) + [("dev", 7)])),
         "SP_E_UNKNOWN"),
        ("trailing byte", good + b"\x00", "SP_E_MALFORMED"),
        ("truncated", good[:-1], "SP_E_MALFORMED"),
        ("top level is an array", pack([0, base["id"]]), "SP_E_TYPE"),
        ("nested too deep", pack(Map(list(E(box=DROP)) +
                                     [("box", [[[[1]]]])])), "SP_E_LIMIT"),
    ]
    out_inv = []
    for name, b, status in invalid:
        try:
            decode_env(b)
            raise AssertionError("accepted: " + name)
        except Refused as r:
            assert r.status == status, (name, r.status, status)
        out_inv.append({"name": name, "bytes": h(b), "status": status})

    clock = []
    e = dict(base, exp=T0 + 3600, box=box304)
    for name, now in [("now equals ts", T0),
                      ("created 300 s in the future", T0 - 300),
                      ("created 301 s in the future", T0 - 301),
                      ("one second before expiry", T0 + 3599),
                      ("at expiry", T0 + 3600),
                      ("long expired", T0 + 10 * WEEK)]:
        clock.append({"name": name, "env": jenv(e), "now": now,
                      "status": check_time(e, now)})

    buckets = []
    for n in (0, 1, 255, 256, 1023, 1024, 4095, 4096, 16383, 16384, 65535,
              65536, 262143, 262144, 524287, 524288, 1 << 30):
        buckets.append({"n": n, "bucket": bucket_for(n)})

    return {
        "about": "Sealpost v0 envelope headers (spec/envelope.md)."
                 " valid: env -> exact bytes, and back. invalid: bytes"
                 " refused by the decoder with status. check_time:"
                 " sp_env_check_time(env, now). bucket_for: plaintext"
                 " length -> bucket (0: too large). The boxes here are"
                 " opaque filler; seal.json has real ones.",
        "valid": out_valid,
        "invalid": out_inv,
        "check_time": clock,
        "bucket_for": buckets,
    }


# --- addresses.json ---

def addresses():
    L = "l" * 64
    acc = [
        "alice@acme.test",
        "Alice@ACME.Test",
        "ALICE@ACME.TEST",
        "a@b.co",
        "first.last@acme.test",
        "x_y-z.1@mail.acme.test",
        "0@0a.test",
        "bob@123.example",
        "bob@example.1a",
        "bob@a--b.test",
        "bob@ab-c.test",
        "bob@x.y",
        "b-o_b.9@x1.y2.z3",
        L + "@acme.test",
        "bob@" + "d" * 63 + ".test",
        "bob@" + long_domain(250),
        long_addr(254),
    ]
    ref = [
        "",
        "alice",
        "alice@",
        "@acme.test",
        "alice@@acme.test",
        "a@b@acme.test",
        "alice@acme",
        "alice@acme.test.",
        "alice@.acme.test",
        "alice@acme..test",
        ".alice@acme.test",
        "alice.@acme.test",
        "al..ice@acme.test",
        "al._ice@acme.test",
        "al-_ice@acme.test",
        "-bob@acme.test",
        "bob_@acme.test",
        "alice+tag@acme.test",
        "\"alice\"@acme.test",
        "alice smith@acme.test",
        " alice@acme.test",
        "alice@acme.test ",
        "alice@acme.test\n",
        "alice\t@acme.test",
        "alice\x00@acme.test",
        "alice\x7f@acme.test",
        "alic\u00e9@acme.test",
        "alice@\u0430cme.test",
        "alice\uff20acme.test",
        "alice@xn--80ak6aa92e.test",
        "alice@acme.xn--p1ai",
        "alice@ab--cd.test",
        "alice@-acme.test",
        "alice@acme-.test",
        "alice@acme_corp.test",
        "alice@[127.0.0.1]",
        "alice@127.0.0.1",
        "alice@acme.123",
        "alice@acme.test:7400",
        "alice%acme.test@relay.test",
        L + "l@acme.test",
        "bob@" + "d" * 64 + ".test",
        "bob@" + long_domain(253),
        long_addr(254) + "x",
        L + "@" + long_domain(190),
    ]
    out_a = []
    for s in acc + ref:
        raw = s.encode("utf-8")
        canon = addr_canon(raw)
        assert (canon is not None) == (s in acc), s
        d = {"input_hex": h(raw)}
        if printable(s) and len(s) < 80:
            d["input"] = s
        d["canonical"] = canon
        out_a.append(d)

    dacc = ["acme.test", "ACME.Test", "a.b", "mail.acme.test",
            "a--b.test", "123.example", long_domain(253),
            ".".join(["a"] * 126 + ["b"])]
    dref = ["", "acme", "acme.test.", ".acme.test", "acme..test",
            "xn--80ak6aa92e.test", "1.2.3.4", "acme.123", "-acme.test",
            "acme_corp.test", "acme.test\n", "\u0430cme.test",
            "alice@acme.test", long_domain(253) + "x",
            "b." + "a" * 64 + ".test"]
    out_d = []
    for s in dacc + dref:
        raw = s.encode("utf-8")
        canon = domain_canon(raw)
        assert (canon is not None) == (s in dacc), s
        d = {"input_hex": h(raw)}
        if printable(s) and len(s) < 80:
            d["input"] = s
        d["canonical"] = canon
        out_d.append(d)

    return {
        "about": "Sealpost v0 canonical addresses (spec/addresses.md)."
                 " input_hex: the bytes given; canonical: the canonical"
                 " form, or null when the input must be refused"
                 " (SP_E_ADDRESS). input repeats input_hex when it is"
                 " short printable ASCII.",
        "addresses": out_a,
        "domains": out_d,
    }


# --- auth.json ---

def auth():
    n1 = fixed("challenge nonce 1", 32)
    n2 = fixed("challenge nonce 2", 32)
    a254 = long_addr(254)
    a255 = long_addr(254) + "x"
    big = Device("long", a254, U32)

    enrol = []
    for name, nonce, domain, d in [
            ("alice enrols at acme.test", n1, "acme.test", ALICE),
            ("bob enrols at partner.test", n2, "partner.test", BOB),
            ("254-byte address", n1, long_domain(253), big)]:
        tr = enrol_transcript(nonce, domain, d.addr, d.spk, d.bpk)
        sig = sign(tr, d.ssk)
        assert verify(sig, tr, d.spk)
        enrol.append({"name": name, "nonce": h(nonce), "domain": domain,
                      "addr": d.addr, "sign_seed": h(d.seed),
                      "ssk": h(d.ssk), "spk": h(d.spk), "bpk": h(d.bpk),
                      "transcript": h(tr), "sig": h(sig)})

    au = []
    for name, nonce, domain, d, dev in [
            ("alice device 1", n1, "acme.test", ALICE, 1),
            ("bob device 7", n2, "partner.test", BOB, 7),
            ("largest device id", n1, "acme.test", ALICE, U32),
            ("254-byte address", n2, long_domain(253), big, 1)]:
        tr = auth_transcript(nonce, domain, d.addr, dev)
        sig = sign(tr, d.ssk)
        assert verify(sig, tr, d.spk)
        au.append({"name": name, "nonce": h(nonce), "domain": domain,
                   "addr": d.addr, "dev": dev, "sign_seed": h(d.seed),
                   "ssk": h(d.ssk), "spk": h(d.spk), "transcript": h(tr),
                   "sig": h(sig)})

    # Signatures that must not verify: one input changed each.
    sig_a = bytes.fromhex(au[0]["sig"])
    sig_e = bytes.fromhex(enrol[0]["sig"])
    bad = [
        ("auth, other device id", "auth", dict(au[0], dev=2)),
        ("auth, other relay domain", "auth",
         dict(au[0], domain="partner.test")),
        ("auth, other nonce", "auth", dict(au[0], nonce=h(n2))),
        ("auth, other address", "auth", dict(au[0], addr=CAROL.addr)),
        ("auth, flipped signature bit", "auth",
         dict(au[0], sig=h(bytes([sig_a[0] ^ 1]) + sig_a[1:]))),
        ("enrol, other box key", "enrol", dict(enrol[0], bpk=h(BOB.bpk))),
        ("enrol, other relay domain", "enrol",
         dict(enrol[0], domain="acme.example")),
        ("enrol, auth signature in its place", "enrol",
         dict(enrol[0], sig=h(sig_a))),
        ("auth, enrol signature in its place", "auth",
         dict(au[0], sig=h(sig_e))),
    ]
    out_bad = []
    for name, kind, d in bad:
        nonce = bytes.fromhex(d["nonce"])
        if kind == "auth":
            tr = auth_transcript(nonce, d["domain"], d["addr"], d["dev"])
        else:
            tr = enrol_transcript(nonce, d["domain"], d["addr"],
                                  bytes.fromhex(d["spk"]),
                                  bytes.fromhex(d["bpk"]))
        assert not verify(bytes.fromhex(d["sig"]), tr,
                          bytes.fromhex(d["spk"])), name
        d = {k: v for k, v in d.items()
             if k not in ("transcript", "ssk", "sign_seed")}
        d["name"] = name
        d["kind"] = kind
        d["status"] = "SP_E_CRYPTO"
        out_bad.append(d)

    refused = []
    for kind in ("enrol", "auth"):
        try:
            if kind == "enrol":
                enrol_transcript(n1, "acme.test", a255, ALICE.spk,
                                 ALICE.bpk)
            else:
                auth_transcript(n1, "acme.test", a255, 1)
            raise AssertionError("signed a 255-byte address")
        except Refused:
            pass
        refused.append({"name": kind + ", 255-byte address",
                        "kind": kind, "nonce": h(n1),
                        "domain": "acme.test", "addr": a255, "dev": 1,
                        "ssk": h(ALICE.ssk), "spk": h(ALICE.spk),
                        "bpk": h(ALICE.bpk), "status": "SP_E_VALUE"})

    return {
        "about": "Sealpost v0 device signatures (spec/sessions.md)."
                 " enrol/auth: inputs, the exact transcript and its"
                 " Ed25519 signature (deterministic). ssk is libsodium's"
                 " 64-byte secret key (seed || spk). verify_fail: must"
                 " not verify. sign_refused: signing must fail with"
                 " status (an address over SP_ADDR_MAX, 254 bytes).",
        "enrol": enrol,
        "auth": au,
        "verify_fail": out_bad,
        "sign_refused": refused,
    }


# --- seal.json ---

def seal_vectors():
    cases = []

    def body_for_inner(e, c, target):
        """A body length that makes the inner map exactly target bytes."""
        for n in range(0, 4096):
            c2 = dict(c, body=fixed("boundary body", n))
            if len(pack(inner_map(c2, b"\x00" * 64))) == target:
                return c2
        raise AssertionError(target)

    def content(d, ctype, name, body):
        return {"from": d.addr, "fdev": d.dev, "spk": d.spk,
                "type": ctype, "name": name, "body": body}

    def env(label, to, org, ts=T0, exp=T0 + WEEK):
        return dict(id=fixed(label, 16), to=to.addr, dev=to.dev, org=org,
                    ts=ts, exp=exp)

    e1 = env("seal id 1", BOB, "acme.test")
    specs = [
        ("text across organisations", ALICE, BOB, e1,
         content(ALICE, "text/plain", "",
                 b"Hello Bob, the drawings follow in the next message.")),
        ("file within one organisation", ALICE, CAROL,
         env("seal id 2", CAROL, "acme.test"),
         content(ALICE, "application/pdf", "drawings-rev3.pdf",
                 fixed("pdf body", 700))),
        ("empty body, UTF-8 file name", BOB, ALICE,
         env("seal id 3", ALICE, "partner.test", T0 + 5, T0 + 65),
         content(BOB, "application/octet-stream",
                 "Pr\u00fcfbericht 2025.txt", b"")),
        ("content filling a 4096 bucket", BOB, ALICE,
         env("seal id 4", ALICE, "partner.test"),
         content(BOB, "image/jpeg", "site.jpg", fixed("jpeg body", 3000))),
    ]
    e5 = env("seal id 5", BOB, "acme.test")
    specs.append(("inner map of 255 bytes: bucket 256", ALICE, BOB, e5,
                  body_for_inner(e5, content(ALICE, "text/plain", "", b""),
                                 255)))
    e6 = env("seal id 6", BOB, "acme.test")
    specs.append(("inner map of 256 bytes: bucket 1024", ALICE, BOB, e6,
                  body_for_inner(e6, content(ALICE, "text/plain", "", b""),
                                 256)))

    first = None
    for i, (name, s, r, e, c) in enumerate(specs):
        esk = fixed("ephemeral %d" % (i + 1), 32)
        x = seal(e, c, s.ssk, r.bpk, esk)
        assert nb.crypto_box_seal_open(x["box"], r.bpk, r.bsk) == \
            x["padded"]
        got = open_env(x["envelope"], r.bpk, r.bsk)
        assert got == dict(c, sig=x["sig"]), name
        case = {
            "name": name,
            "sender": s.json(),
            "recipient": r.json(),
            "env": jenv(e),
            "content": {"type": c["type"], "name": c["name"],
                        "body": h(c["body"])},
            "esk": h(esk),
            "epk": h(x["epk"]),
            "transcript": h(x["transcript"]),
            "transcript_hash": h(x["hash"]),
            "sig": h(x["sig"]),
            "inner": h(x["inner"]),
            "bucket": x["bucket"],
            "padded": h(x["padded"]),
            "nonce": h(x["nonce"]),
            "box": h(x["box"]),
            "envelope": h(x["envelope"]),
        }
        cases.append(case)
        if first is None:
            first = (s, r, e, c, esk, x)

    # Envelopes that must not open.
    s, r, e, c, esk, x = first
    good = x["envelope"]
    box = x["box"]

    def reenv(e2, box2):
        return pack(env_map(e2, box2))

    def reseal(inner):
        return seal(e, c, s.ssk, r.bpk, esk, inner_override=inner)[
            "envelope"]

    def signed_inner(c2, extra=()):
        sig = sign(blake2b(seal_transcript(e, c2), 64), s.ssk)
        return pack(Map(list(inner_map(c2, sig)) + list(extra)))

    flip = bytearray(box)
    flip[100] ^= 0x01
    flip_epk = bytearray(box)
    flip_epk[0] ^= 0x01
    other = Device("mallory", "mallory@acme.test", 3)
    sig_ok = x["sig"]
    inner_ok = x["inner"]
    bad_pad = inner_ok + b"\x00" * (x["bucket"] - len(inner_ok))
    bad_open = [
        ("ciphertext bit flipped", reenv(e, bytes(flip)), CAROL,
         "SP_E_CRYPTO"),
        ("ephemeral key bit flipped", reenv(e, bytes(flip_epk)), BOB,
         "SP_E_CRYPTO"),
        ("opened with another device's keys", good, BOB2, "SP_E_CRYPTO"),
        ("header moved to another device", reenv(dict(e, dev=9), box), BOB,
         "SP_E_CRYPTO"),
        ("header with another expiry",
         reenv(dict(e, exp=e["exp"] + 1), box), BOB, "SP_E_CRYPTO"),
        ("header from another organisation",
         reenv(dict(e, org="evil.test"), box), BOB, "SP_E_CRYPTO"),
        ("signed by a key other than spk",
         reseal(pack(inner_map(c, sign(blake2b(seal_transcript(e, c), 64),
                                       other.ssk)))), BOB, "SP_E_CRYPTO"),
        ("signature over the bare transcript (not its hash)",
         reseal(pack(inner_map(c, sign(seal_transcript(e, c), s.ssk)))),
         BOB, "SP_E_CRYPTO"),
        ("no padding marker", None, BOB, "SP_E_MALFORMED"),
        ("byte after the inner map", reseal(inner_ok + b"\xc0"), BOB,
         "SP_E_MALFORMED"),
        ("inner map with an unknown key",
         reseal(signed_inner(c, [("to", BOB.addr)])), BOB, "SP_E_UNKNOWN"),
        ("inner map without sig",
         reseal(pack(Map(list(inner_map(c, sig_ok))[:-1]))), BOB,
         "SP_E_MISSING"),
        ("from not canonical",
         reseal(signed_inner(dict(c, **{"from": "Alice@acme.test"}))), BOB,
         "SP_E_ADDRESS"),
        ("empty content type", reseal(signed_inner(dict(c, type=""))), BOB,
         "SP_E_VALUE"),
        ("file name with a slash",
         reseal(signed_inner(dict(c, name="../etc/passwd"))), BOB,
         "SP_E_VALUE"),
        ("spk of 31 bytes",
         reseal(signed_inner(dict(c, spk=c["spk"][:31]))), BOB,
         "SP_E_VALUE"),
    ]
    out_bad = []
    for name, envb, who, status in bad_open:
        if envb is None:
            # Padding without its 0x80 marker: seal the raw bytes.
            epk = nb.crypto_scalarmult_base(esk)
            bx = epk + nb.crypto_box(bad_pad, seal_nonce(epk, who.bpk),
                                     who.bpk, esk)
            envb = reenv(e, bx)
        try:
            open_env(envb, who.bpk, who.bsk)
            raise AssertionError("opened: " + name)
        except Refused as rf:
            assert rf.status == status, (name, rf.status, status)
        out_bad.append({"name": name, "envelope": h(envb),
                        "recipient": who.json(), "status": status})

    # Sealing that must be refused.
    refused = []
    for name, over_e, over_c, status in [
            ("empty content type", {}, {"type": ""}, "SP_E_VALUE"),
            ("content type of 65 characters", {}, {"type": "t" * 65},
             "SP_E_VALUE"),
            ("content type with a newline", {}, {"type": "text/\n"},
             "SP_E_VALUE"),
            ("file name with a slash", {}, {"name": "a/b"}, "SP_E_VALUE"),
            ("file name with a control character", {}, {"name": "a\x01b"},
             "SP_E_VALUE"),
            ("lifetime of 59 seconds", {"exp": T0 + 59}, {}, "SP_E_VALUE"),
            ("body of 512 KiB", {}, {"body_len": 524288},
             "SP_E_TOO_LARGE")]:
        c2 = {"type": c["type"], "name": c["name"], "body": h(c["body"])}
        c2.update(over_c)
        if "body_len" in c2:
            del c2["body"]
        refused.append({"name": name, "sender": s.json(),
                        "recipient": r.json(secret=False),
                        "env": jenv(dict(e, **over_e)), "content": c2,
                        "esk": h(esk), "status": status})

    return {
        "about": "Sealpost v0 seal (spec/envelope.md). Each case: the"
                 " sender's and recipient's keys, the header, the content,"
                 " the ephemeral secret key, and every intermediate value:"
                 " transcript, its BLAKE2b-512 hash, the Ed25519 signature"
                 " of the hash, the inner map, the padded plaintext, the"
                 " nonce, the box and the whole envelope. Opening the"
                 " envelope with the recipient's keys gives the content"
                 " back. open_fail: envelopes that must not open, with"
                 " the status. seal_refused: sealing must fail (body_len:"
                 " a body of that many zero bytes).",
        "cases": cases,
        "open_fail": out_bad,
        "seal_refused": refused,
    }


def write(outdir, name, obj):
    path = os.path.join(outdir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=True)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "..", "vectors")
    os.makedirs(outdir, exist_ok=True)
    for name, fn in [("frames.json", frames), ("envelopes.json", envelopes),
                     ("addresses.json", addresses), ("auth.json", auth),
                     ("seal.json", seal_vectors)]:
        obj = fn()
        n = sum(len(v) for k, v in obj.items() if isinstance(v, list))
        print("%-16s %4d vectors" % (name, n))
        write(outdir, name, obj)


if __name__ == "__main__":
    main()
