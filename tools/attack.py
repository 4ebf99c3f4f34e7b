#!/usr/bin/python3
"""attack.py - the measurement behind tools/attack.

  attack.py run ... -- sealpost-attack ARGS...

runs sealpost-attack (the honest devices) for the whole time, and per
phase one "sealpost-attack hit MODE" process per attack; marks a
measurement window on the honest side once an attack has built up,
samples both relays' memory, descriptors and CPU time, and prints one
line per phase and a verdict.

Attack modes (each connects from its own loopback source addresses, so
the relay sees them as other peers than the honest devices on 127.0.0.1):
  slowloris  TLS, then one byte a second of a frame, never finishing it
  stall      TCP only: never starts TLS
  halfopen   a TLS ClientHello, the server's reply read, then silence
  idle       TLS done, the challenge read, then nothing
  flood      new connections from one address as fast as allowed
  garbage    TLS, then pings and a broken frame; or bytes that are no TLS
  huge       TLS, then a length prefix far over any limit
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time


MODES = ("slowloris", "stall", "halfopen", "idle", "flood", "garbage",
         "huge")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the measurement -----------------------------------------------------

def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Per mode: source addresses, workers per address, attempts per second
# (whole attacker, which keeps its CPU time moderate), seconds to build
# up before measuring, targets ("a" = relay A's client listener, "bfed"
# = relay B's federation listener).
PLAN = {
    "slowloris": dict(addrs=4, per_addr=250, rate=200, ramp=10,
                      targets=("a",)),
    "stall": dict(addrs=4, per_addr=250, rate=200, ramp=10,
                  targets=("a",)),
    "halfopen": dict(addrs=4, per_addr=250, rate=200, ramp=10,
                     targets=("a", "bfed")),
    "idle": dict(addrs=25, per_addr=200, rate=250, ramp=25,
                 targets=("a",)),
    "flood": dict(addrs=1, per_addr=100, rate=1000, ramp=5,
                  targets=("a",)),
    "garbage": dict(addrs=4, per_addr=50, rate=200, ramp=5,
                    targets=("a",)),
    "huge": dict(addrs=4, per_addr=50, rate=200, ramp=5, targets=("a",)),
}


def start_hit(a, mode, index, scale, rate_scale):
    p = PLAN[mode]
    # The honest program is also the attacker ("hit").
    targets = []
    for t in p["targets"]:
        if t == "a":
            targets.append("127.0.0.1:%d" % a.a_port)
        else:
            targets.append("127.0.0.1:%d:fed" % a.b_fed_port)
    cmd = [a.honest[0], "hit", mode,
           "--domain", a.a_domain,
           "--src-prefix", "127.0.%d" % (10 + index),
           "--addrs", str(p["addrs"]),
           "--per-addr", str(max(1, int(p["per_addr"] * scale))),
           "--rate", str(p["rate"] * rate_scale)]
    for t in targets:
        cmd += ["--target", t]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def parse_window(line):
    parts = line.split()
    w = {"label": parts[1]}
    for kv in parts[2:]:
        k, _, v = kv.partition("=")
        w[k] = float(v)
    return w


class Run:
    def __init__(self, a):
        self.a = a
        self.honest = subprocess.Popen(
            a.honest, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        line = self.honest.stdout.readline()
        if not line.startswith("ready"):
            sys.exit("attack: honest traffic did not start: %r" % line)
        self.relays = {"A": a.a_pid, "B": a.b_pid}

    def mark(self, label):
        self.honest.stdin.write("mark %s\n" % label)
        self.honest.stdin.flush()
        line = self.honest.stdout.readline()
        if not line.startswith("window "):
            sys.exit("attack: honest traffic stopped: %r" % line)
        return parse_window(line)

    def phase(self, name, modes):
        a = self.a
        rss0 = {k: proc_rss_kb(p) for k, p in self.relays.items()}
        fd0 = {k: proc_fds(p) for k, p in self.relays.items()}
        cpu0 = {k: proc_cpu_s(p) for k, p in self.relays.items()}
        # All at once: each attacker at half its pace, so that together
        # they do not simply take the CPU the relays run on.
        rs = 0.5 if len(modes) > 1 else 1.0
        hits = [(m, start_hit(a, m, MODES.index(m), a.scale, rs))
                for m in modes]
        ramp = a.ramp if a.ramp is not None else \
            max([PLAN[m]["ramp"] for m in modes] or [0])
        peak_rss = dict(rss0)
        peak_fd = dict(fd0)

        def sample(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for k, p in self.relays.items():
                    peak_rss[k] = max(peak_rss[k], proc_rss_kb(p))
                    peak_fd[k] = max(peak_fd[k], proc_fds(p))
                time.sleep(0.5)

        sample(ramp)
        self.mark("ramp")
        sample(a.secs)
        w = self.mark(name)
        cpu1 = {k: proc_cpu_s(p) for k, p in self.relays.items()}

        st = []
        for m, p in hits:
            p.send_signal(signal.SIGTERM)
            try:
                out, _ = p.communicate(timeout=30)
                st.append(json.loads(out.strip().splitlines()[-1]))
            except (subprocess.TimeoutExpired, ValueError, IndexError):
                p.kill()
                st.append({"mode": m, "attempted": 0, "accepted": 0,
                           "refused": 0, "cpu_s": 0, "open_max": 0,
                           "closed_by_relay": 0, "hold_p50_s": None})
        time.sleep(a.cool if modes else 0)
        return {"name": name, "w": w, "hits": st, "rss0": rss0,
                "peak_rss": peak_rss, "fd0": fd0, "peak_fd": peak_fd,
                "cpu": {k: cpu1[k] - cpu0[k] for k in cpu0}}


def fmt_ms(v):
    return "-" if v is None or v < 0 else "%.1f" % v


def cmd_run(a):
    raise_nofile()
    run = Run(a)
    run.mark("warmup")
    time.sleep(5)
    phases = [("quiet", [])]
    for m in a.modes.split(","):
        phases.append((m, [m]))
    phases.append(("all", list(a.modes.split(","))))
    phases.append(("quiet-again", []))

    print("phase        honest p50/p99 ms   sent/deliv  redial  "
          "connect p50/p99 ms fail  attack attempted/accepted/refused "
          "open_max held_p50_s  attacker_cpu_s  relayA rss_kb(+delta) "
          "fds  B/conn  relay cpu_s A/B", flush=True)
    results = []
    for name, modes in phases:
        r = run.phase(name, modes)
        results.append(r)
        w = r["w"]
        att = sum(h.get("attempted", 0) for h in r["hits"])
        acc = sum(h.get("accepted", 0) for h in r["hits"])
        ref = sum(h.get("refused", 0) for h in r["hits"])
        omax = sum(h.get("open_max", 0) for h in r["hits"])
        cpu = sum(h.get("cpu_s", 0) or 0 for h in r["hits"])
        holds = [h.get("hold_p50_s") for h in r["hits"]
                 if h.get("hold_p50_s") is not None and
                 h["hold_p50_s"] >= 0]
        drss = r["peak_rss"]["A"] - r["rss0"]["A"]
        dfd = r["peak_fd"]["A"] - r["fd0"]["A"]
        per = "%d" % (drss * 1024 / dfd) if dfd >= 50 else "-"
        r["bytes_per_conn"] = per
        print("%-12s %7s/%-7s %6d/%-6d %4d %8s/%-7s %4d  %7d/%d/%d %6d "
              "%8s %9.1f %10d(+%d) %6d %6s %6.1f/%.1f" % (
                  name, fmt_ms(w.get("p50_ms")), fmt_ms(w.get("p99_ms")),
                  w.get("sent", 0), w.get("delivered", 0),
                  w.get("redials", 0),
                  fmt_ms(w.get("connect_p50_ms")),
                  fmt_ms(w.get("connect_p99_ms")), w.get("probe_fail", 0),
                  att, acc, ref, omax,
                  "/".join("%.1f" % x for x in holds) or "-", cpu,
                  r["peak_rss"]["A"], drss, r["peak_fd"]["A"], per,
                  r["cpu"]["A"], r["cpu"]["B"]), flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(r) + "\n")

    run.honest.stdin.write("quit\n")
    run.honest.stdin.flush()
    run.honest.wait(timeout=30)

    quiet = results[0]["w"].get("p99_ms", -1)
    print()
    print("verdict: honest p99 under attack <= 2 x quiet p99 "
          "(quiet p99 %.1f ms; quiet again %.1f ms)" %
          (quiet, results[-1]["w"].get("p99_ms", -1)))
    bad = 0
    for r in results[1:-1]:
        p99 = r["w"].get("p99_ms", -1)
        lost = r["w"].get("sent", 0) - r["w"].get("delivered", 0)
        ok = 0 <= p99 <= 2 * quiet and r["w"].get("errors", 0) == 0
        bad += not ok
        print("verdict %-10s p99 %7.1f ms = %4.1f x quiet  %s%s" % (
            r["name"], p99, p99 / quiet if quiet > 0 else 0,
            "ok" if ok else "EXCEEDED",
            "" if lost <= 4 else "  (%d sent not yet delivered at the "
            "end of the window)" % lost))
    print("verdict: %s" % ("all attacks within 2 x quiet p99" if bad == 0
                           else "%d phase(s) over 2 x quiet p99" % bad))
    return 0


def main():
    ap = argparse.ArgumentParser(prog="attack.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("run")
    p.add_argument("--a-pid", type=int, required=True)
    p.add_argument("--b-pid", type=int, required=True)
    p.add_argument("--a-port", type=int, required=True)
    p.add_argument("--b-fed-port", type=int, required=True)
    p.add_argument("--a-domain", required=True)
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--secs", type=float, default=30)
    p.add_argument("--ramp", type=float,
                   help="seconds of attack before measuring (default: "
                   "per attack)")
    p.add_argument("--cool", type=float, default=12,
                   help="seconds between phases: the relay's 10-second "
                   "sweep hands the memory of closed connections back, "
                   "so each phase's memory delta is its own")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every attack's connection count")
    p.add_argument("--json", help="append per-phase results here")
    p.add_argument("honest", nargs=argparse.REMAINDER,
                   help="-- sealpost-attack and its arguments")
    p.set_defaults(fn=cmd_run)

    a = ap.parse_args()
    if a.cmd == "run":
        if a.honest and a.honest[0] == "--":
            a.honest = a.honest[1:]
        if not a.honest:
            ap.error("run needs -- sealpost-attack ...")
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
