#!/usr/bin/python3
"""probe.py - speak Sealpost's wire protocol directly, for integration tests.

Written from protocol/*.h alone (framing: be32 length + one msgpack map;
TLS 1.3 with one ALPN name per listener), so it also checks that the
headers are enough to talk to a relay.

Subcommands (each prints one JSON object per line on stdout):
  ports N                 a base port such that base+20*i and base+20*i+1
                          are free on 127.0.0.1 for i < N (devpki layout)
  ident FILE              what was found in an identity file
  mkenv ...               build (and seal, with --rbpk) an envelope file
  fed ...                 federation session: ping, lookup, relay frames
  client ...              client session: challenge, auth, send, fetch
  raw ...                 send hostile bytes, print what comes back
  authbad ...             a wrong authentication, print the answer
  stall ...               a TCP connection that never starts TLS

Exit codes of the session subcommands: 0 every request got an answer
(whatever it was), 3 the connection was refused or closed before that,
4 a request timed out, 1 usage or local error.
"""

import argparse
import json
import os
import random
import re
import socket
import ssl
import struct
import sys
import time

import msgpack
import nacl.bindings as nb
import nacl.encoding
import nacl.hash
import nacl.public
import nacl.signing

ALPN_CLIENT = "sealpost-client/0"
ALPN_FED = "sealpost-fed/0"
FRAME_MAX = 1024 * 1024
BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 524288)
SEAL_OVERHEAD = 48
WERR = {1: "bad_frame", 2: "bad_message", 3: "auth_failed",
        4: "bad_address", 5: "no_such_user", 6: "bad_code",
        7: "bad_envelope", 8: "not_allowed", 9: "try_later",
        10: "too_large", 11: "peer_unreachable", 12: "expired",
        13: "state", 14: "internal"}


class Refused(Exception):
    """The peer refused or dropped the connection."""


def out(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


def jsonable(v):
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def show(msg):
    """Print a received message; name error codes for readability."""
    if isinstance(msg, dict):
        m = jsonable(msg)
        if m.get("t") == "error" and isinstance(m.get("err"), int):
            m["errname"] = WERR.get(m["err"], "unknown")
        out({"event": "recv", "msg": m})
    else:
        out({"event": "recv", "raw": jsonable(msg)})


def frame(obj):
    body = msgpack.packb(obj, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


# --- TLS connection and framing ------------------------------------------

class Conn:
    def __init__(self, args, alpn):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols([args.alpn_name or alpn])
        ctx.load_verify_locations(args.ca)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
        self.timeout = args.timeout
        raw = socket.create_connection((args.host, args.port),
                                       timeout=args.timeout)
        try:
            self.s = ctx.wrap_socket(raw, server_hostname=args.servername)
        except (ssl.SSLError, OSError) as e:
            raw.close()
            raise Refused("handshake failed: %s" % e)
        self.alpn = self.s.selected_alpn_protocol()
        self.buf = b""
        self.rid = 0

    def send_bytes(self, data):
        try:
            self.s.sendall(data)
        except (ssl.SSLError, OSError) as e:
            raise Refused("write failed: %s" % e)

    def send(self, obj):
        self.send_bytes(frame(obj))

    def _fill(self, deadline):
        """Read more bytes; Refused on EOF or a TLS alert."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        self.s.settimeout(left)
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            raise TimeoutError()
        except ssl.SSLZeroReturnError:
            raise Refused("closed")
        except (ssl.SSLError, OSError) as e:
            raise Refused("connection error: %s" % e)
        if not data:
            raise Refused("closed")
        self.buf += data

    def recv(self, timeout=None):
        """Next message (decoded map), Refused, or TimeoutError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < 4:
            self._fill(deadline)
        n = struct.unpack(">I", self.buf[:4])[0]
        if n == 0 or n > FRAME_MAX:
            raise Refused("peer sent a bad frame length %d" % n)
        while len(self.buf) < 4 + n:
            self._fill(deadline)
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return msgpack.unpackb(body, raw=False)

    def request(self, obj):
        """Send a request with a fresh rid; print everything until the
        answer with that rid (or an error, which may carry rid 0)."""
        self.rid += 1
        req = {"t": obj["t"], "rid": self.rid}
        req.update({k: v for k, v in obj.items() if k != "t"})
        self.send(req)
        while True:
            m = self.recv()
            show(m)
            if isinstance(m, dict) and (m.get("rid") == self.rid or
                                        m.get("t") == "error"):
                return m

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def conn_args(p):
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True, help="CA the relay chains to")
    p.add_argument("--servername", required=True, help="relay's domain")
    p.add_argument("--cert", help="client certificate chain (PEM)")
    p.add_argument("--key", help="its private key")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--alpn-name", help="offer this ALPN name instead")


def run_session(fn):
    """Run fn, mapping outcomes to exit codes and events."""
    try:
        fn()
    except Refused as e:
        out({"event": "refused", "detail": str(e)})
        return 3
    except TimeoutError:
        out({"event": "timeout"})
        return 4
    except OSError as e:
        out({"event": "refused", "detail": "connect: %s" % e})
        return 3
    return 0


# --- identities and envelopes ---------------------------------------------

def parse_identity(path):
    """Pull address, dev and keys out of a libconfig identity file
    without relying on its setting names: keys are recognised by
    checking that secret and public halves belong together."""
    text = open(path).read()
    vals = re.findall(r'([A-Za-z_][\w-]*)\s*[=:]\s*("([^"]*)"|-?\w+)', text)
    strs, ints = {}, {}
    for name, whole, s in vals:
        if whole.startswith('"'):
            strs[name] = s
        else:
            try:
                # libconfig writes 64-bit integers with an L suffix
                ints[name] = int(whole.rstrip("Ll"), 0)
            except ValueError:
                pass
    ident = {}
    if "address" in strs:
        ident["addr"] = strs["address"]
    for name, s in strs.items():
        if "@" in s and "addr" not in ident:
            ident["addr"] = s
    for name in ("dev", "device", "dev_id", "device_id"):
        if name in ints:
            ident["dev"] = ints[name]
            break
    hexes = [bytes.fromhex(s) for s in strs.values()
             if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", s)]
    for h in hexes:
        if len(h) == 64:
            pk, sk = nb.crypto_sign_seed_keypair(h[:32])
            if sk == h:
                ident["spk"], ident["ssk"] = pk, sk
        if len(h) == 32:
            pk = nb.crypto_scalarmult_base(h)
            if pk in hexes:
                ident["bpk"], ident["bsk"] = pk, h
    return ident


def bucket_for(n):
    for b in BUCKETS:
        if n + 1 <= b:
            return b
    return 0


def seal_transcript(env, inner):
    t = b"sealpost-seal-v0" + env["id"]
    t += bytes([len(env["to"])]) + env["to"].encode()
    t += struct.pack(">I", env["dev"])
    t += bytes([len(env["org"])]) + env["org"].encode()
    t += struct.pack(">QQ", env["ts"], env["exp"])
    t += bytes([len(inner["from"])]) + inner["from"].encode()
    t += struct.pack(">I", inner["fdev"]) + inner["spk"]
    t += bytes([len(inner["type"])]) + inner["type"].encode()
    name = inner["name"].encode()
    t += struct.pack(">H", len(name)) + name
    t += struct.pack(">I", len(inner["body"])) + inner["body"]
    return t


def cmd_mkenv(a):
    """One envelope into --out, or with --count N > 1 N of them into
    OUT.1 .. OUT.N with " i" appended to the text."""
    me = None
    if a.rbpk and a.identity:
        me = parse_identity(a.identity)
        if "ssk" not in me or "addr" not in me or "dev" not in me:
            print("probe: no usable keys in %s" % a.identity,
                  file=sys.stderr)
            return 1
    for i in range(1, a.count + 1):
        path, text = a.out, a.text
        if a.count > 1:
            path, text = "%s.%d" % (a.out, i), "%s %d" % (a.text, i)
        mkenv_one(a, me, path, text)
    return 0


def mkenv_one(a, me, path, text):
    now = int(time.time())
    env = {"v": 0,
           "id": bytes.fromhex(a.id) if a.id and a.count == 1
           else os.urandom(16),
           "to": a.to, "dev": a.dev, "org": a.org,
           "ts": now + a.ts_offset, "exp": now + a.ts_offset + a.ttl}
    if a.rbpk:
        if me:
            sender, fdev, spk, ssk = me["addr"], me["dev"], me["spk"], \
                me["ssk"]
        else:
            spk, ssk = nb.crypto_sign_keypair()
            sender, fdev = a.sender, a.fdev
        body = open(a.file, "rb").read() if a.file else text.encode()
        inner = {"from": sender, "fdev": fdev, "spk": spk,
                 "type": a.type, "name": a.name, "body": body}
        h = nacl.hash.blake2b(seal_transcript(env, inner), digest_size=64,
                              encoder=nacl.encoding.RawEncoder)
        inner["sig"] = nb.crypto_sign(h, ssk)[:64]
        plain = msgpack.packb(inner, use_bin_type=True)
        b = bucket_for(len(plain))
        padded = plain + b"\x80" + b"\x00" * (b - len(plain) - 1)
        env["box"] = nb.crypto_box_seal(padded,
                                        bytes.fromhex(a.rbpk))
    else:
        # Opaque: a relay never opens the seal, only checks its length.
        n = BUCKETS[0] + SEAL_OVERHEAD if a.box_len is None else a.box_len
        env["box"] = os.urandom(n)
    if a.version is not None:
        env["v"] = a.version
    with open(path, "wb") as f:
        f.write(msgpack.packb(env, use_bin_type=True))
    out({"id": env["id"].hex(), "to": a.to, "dev": a.dev, "org": a.org,
         "box_len": len(env["box"]), "path": path, "text": text})


# --- sessions ---------------------------------------------------------------

def cmd_fed(a):
    def go():
        c = Conn(a, ALPN_FED)
        out({"event": "connected", "alpn": c.alpn})
        for op in a.ops:
            kind, _, arg = op.partition("=")
            if kind == "ping":
                c.request({"t": "ping"})
            elif kind == "lookup":
                c.request({"t": "lookup", "addr": arg})
            elif kind == "relay":
                c.request({"t": "relay", "env": open(arg, "rb").read()})
            else:
                raise SystemExit("probe: unknown op %s" % op)
        c.close()
    return run_session(go)


def client_hello(c, a):
    """Read the challenge; authenticate if an identity was given."""
    ch = c.recv()
    show(ch)
    if not isinstance(ch, dict) or ch.get("t") != "challenge":
        raise Refused("no challenge")
    if not a.identity:
        return
    me = parse_identity(a.identity)
    if not all(k in me for k in ("addr", "dev", "ssk")):
        raise SystemExit("probe: no usable keys in %s" % a.identity)
    dom = ch["domain"].encode()
    addr = me["addr"].encode()
    t = b"sealpost-auth-v0" + ch["nonce"] + bytes([len(dom)]) + dom + \
        bytes([len(addr)]) + addr + struct.pack(">I", me["dev"])
    sig = nb.crypto_sign(t, me["ssk"])[:64]
    m = c.request({"t": "auth", "addr": me["addr"], "dev": me["dev"],
                   "sig": sig})
    if m.get("t") != "ok":
        raise Refused("auth refused")


def auth_transcript(nonce, domain, addr, dev):
    dom, ad = domain.encode(), addr.encode()
    return b"sealpost-auth-v0" + nonce + bytes([len(dom)]) + dom + \
        bytes([len(ad)]) + ad + struct.pack(">I", dev)


def cmd_authbad(a):
    """One wrong authentication of the device in --identity; prints the
    answers and whether the relay closed the connection."""
    me = parse_identity(a.identity)
    if not all(k in me for k in ("addr", "dev", "ssk")):
        print("probe: no usable keys in %s" % a.identity, file=sys.stderr)
        return 1

    def go():
        nonce_other = None
        if a.mode == "replay":
            # A signature made for another connection's challenge.
            c0 = Conn(a, ALPN_CLIENT)
            ch0 = c0.recv()
            nonce_other = ch0["nonce"]
            c0.close()
        c = Conn(a, ALPN_CLIENT)
        out({"event": "connected", "alpn": c.alpn})
        ch = c.recv()
        show(ch)
        addr, dev, ssk = me["addr"], me["dev"], me["ssk"]
        nonce, domain = ch["nonce"], ch["domain"]
        if a.mode == "wrongkey":
            ssk = nb.crypto_sign_keypair()[1]
        elif a.mode == "nodev":
            dev += 1000
        elif a.mode == "replay":
            nonce = nonce_other
        elif a.mode == "wrongdomain":
            domain = a.other_domain
        elif a.mode == "otheraddr":
            addr = a.other_addr
            if a.other_dev is not None:
                dev = a.other_dev
        if a.mode == "preauth":
            env = {"v": 0, "id": os.urandom(16), "to": me["addr"],
                   "dev": me["dev"], "org": ch["domain"],
                   "ts": int(time.time()), "exp": int(time.time()) + 3600,
                   "box": os.urandom(BUCKETS[0] + SEAL_OVERHEAD)}
            c.send({"t": "send", "rid": 1,
                    "env": msgpack.packb(env, use_bin_type=True)})
        else:
            sig = nb.crypto_sign(auth_transcript(nonce, domain, addr, dev),
                                 ssk)[:64]
            c.send({"t": "auth", "rid": 1, "addr": addr, "dev": dev,
                    "sig": sig})
        deadline = time.monotonic() + a.timeout
        while True:
            try:
                show(c.recv(max(0.01, deadline - time.monotonic())))
            except Refused as e:
                out({"event": "closed", "detail": str(e)})
                return
            except TimeoutError:
                out({"event": "open"})
                return
    return run_session(go)


def cmd_client(a):
    def go():
        c = Conn(a, ALPN_CLIENT)
        out({"event": "connected", "alpn": c.alpn})
        client_hello(c, a)
        for op in a.ops:
            kind, _, arg = op.partition("=")
            if kind == "ping":
                c.request({"t": "ping"})
            elif kind == "lookup":
                c.request({"t": "lookup", "addr": arg})
            elif kind == "send":
                c.request({"t": "send", "env": open(arg, "rb").read()})
            else:
                raise SystemExit("probe: unknown op %s" % op)
        c.close()
    return run_session(go)


RAW_CASES = {
    # declared length far beyond the 1 MiB bound
    # (header only: bytes left unread would make the relay's close a
    # TCP reset, which could destroy its answer before it is read)
    "huge": lambda: b"\xff\xff\xff\xff",
    # a zero length is never valid
    "zero": lambda: b"\x00\x00\x00\x00",
    # 0xc1 is the one byte msgpack never uses
    "notmsgpack": lambda: struct.pack(">I", 3) + b"\xc1\xc1\xc1",
    # truncated map: says two entries, has none
    "truncated": lambda: struct.pack(">I", 1) + b"\x82",
    # well-formed but nested beyond the depth bound
    "deep": lambda: frame([[[[[[[[1]]]]]]]]),
    # nothing at all: an idle connection
    "nothing": lambda: b"",
    # half a frame, then silence
    "partial": lambda: struct.pack(">I", 100) + b"\x82\xa1t",
    # a map with an unknown type name
    "unknowntype": lambda: frame({"t": "bogus", "rid": 7}),
    # a known type missing its fields
    "missingfields": lambda: frame({"t": "send", "rid": 8}),
    # not a map at all
    "notmap": lambda: frame(42),
}


def cmd_raw(a):
    """Send one hostile payload and report what the relay does: every
    frame it answers with, then whether it closed the connection."""
    def go():
        c = Conn(a, a.alpn == "fed" and ALPN_FED or ALPN_CLIENT)
        out({"event": "connected", "alpn": c.alpn})
        if a.alpn == "client":
            client_hello(c, a)
        data = RAW_CASES[a.case]() if a.case else bytes.fromhex(a.hex)
        c.send_bytes(data)
        deadline = time.monotonic() + a.timeout
        while True:
            try:
                show(c.recv(max(0.01, deadline - time.monotonic())))
            except Refused as e:
                out({"event": "closed", "detail": str(e)})
                return
            except TimeoutError:
                out({"event": "open"})
                return
    return run_session(go)


def cmd_stall(a):
    """Open a TCP connection and never start TLS: report whether and
    when the relay closes it."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    except OSError as e:
        out({"event": "refused", "detail": "connect: %s" % e})
        return 3
    if a.hex:
        s.sendall(bytes.fromhex(a.hex))
    s.settimeout(a.timeout)
    try:
        while s.recv(4096):
            pass
        out({"event": "closed", "after": round(time.monotonic() - t0, 2)})
    except socket.timeout:
        out({"event": "open", "after": round(time.monotonic() - t0, 2)})
    except OSError as e:
        out({"event": "closed", "after": round(time.monotonic() - t0, 2),
             "detail": str(e)})
    s.close()
    return 0


def cmd_ident(a):
    me = parse_identity(a.file)
    out(jsonable({k: v for k, v in me.items() if k not in ("ssk", "bsk")}
                 | {"has_ssk": "ssk" in me, "has_bsk": "bsk" in me}))
    return 0


def cmd_ports(a):
    """Pick a random base and check every port devpki will use."""
    need = [d + 20 * i for i in range(a.n) for d in (0, 1)]
    for _ in range(200):
        # Below Linux's ephemeral range (32768 up), so outgoing
        # connections cannot take a port between this check and bind.
        base = random.randrange(20000, 32700 - 20 * a.n, 2)
        socks, ok = [], True
        for off in need:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + off))
                socks.append(s)
            except OSError:
                s.close()
                ok = False
                break
        for s in socks:
            s.close()
        if ok:
            print(base)
            return 0
    print("probe: no free port range", file=sys.stderr)
    return 1


def main():
    ap = argparse.ArgumentParser(prog="probe.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ports")
    p.add_argument("n", type=int)
    p.set_defaults(fn=cmd_ports)

    p = sub.add_parser("ident")
    p.add_argument("file")
    p.set_defaults(fn=cmd_ident)

    p = sub.add_parser("mkenv")
    p.add_argument("--out", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--dev", type=int, required=True)
    p.add_argument("--org", required=True)
    p.add_argument("--id", help="32 hex digits (default random)")
    p.add_argument("--ttl", type=int, default=3600)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--box-len", type=int, help="opaque box of this size")
    p.add_argument("--version", type=int, help="v other than 0")
    p.add_argument("--ts-offset", type=int, default=0)
    p.add_argument("--rbpk", help="recipient box key (hex): seal for real")
    p.add_argument("--identity", help="sender's identity file")
    p.add_argument("--sender", default="probe@partner.test")
    p.add_argument("--fdev", type=int, default=1)
    p.add_argument("--type", default="text/plain")
    p.add_argument("--name", default="")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--text")
    g.add_argument("--file")
    p.set_defaults(fn=cmd_mkenv, text="probe")

    p = sub.add_parser("fed")
    conn_args(p)
    p.add_argument("ops", nargs="*",
                   help="ping | lookup=ADDR | relay=ENVFILE")
    p.set_defaults(fn=cmd_fed)

    p = sub.add_parser("client")
    conn_args(p)
    p.add_argument("--identity", help="authenticate as this device")
    p.add_argument("ops", nargs="*",
                   help="ping | lookup=ADDR | send=ENVFILE")
    p.set_defaults(fn=cmd_client)

    p = sub.add_parser("raw")
    conn_args(p)
    p.add_argument("--alpn", choices=("client", "fed"), default="client")
    p.add_argument("--identity", help="authenticate first (client)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--case", choices=sorted(RAW_CASES))
    g.add_argument("--hex")
    p.set_defaults(fn=cmd_raw)

    p = sub.add_parser("stall")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--hex", help="bytes to send first (e.g. half a "
                   "TLS ClientHello)")
    p.set_defaults(fn=cmd_stall)

    p = sub.add_parser("authbad")
    conn_args(p)
    p.add_argument("--identity", required=True)
    p.add_argument("--mode", required=True,
                   choices=("wrongkey", "nodev", "replay", "wrongdomain",
                            "otheraddr", "preauth"))
    p.add_argument("--other-domain", default="other.test")
    p.add_argument("--other-addr", default="someone@other.test")
    p.add_argument("--other-dev", type=int)
    p.set_defaults(fn=cmd_authbad)

    a = ap.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()
