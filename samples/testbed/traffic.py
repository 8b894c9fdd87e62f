#!/usr/bin/python3
"""Runs the shop's normal traffic (and optionally rogue traffic) in the testbed.

  traffic.py run [--rogue] [--expect-blocked] [--seconds N | --attempts N] [--seed S]
                 [--json FILE]
  traffic.py agent            (internal: runs inside one netns, plan on stdin)

`run` (in the root netns) starts one agent per source netns with
`ip netns exec`, each agent runs its flows in threads until the time is up
and prints what happened as JSON; `run` adds it up and prints one row per flow
and address family.  Flows that go through the services (frontend -> catalog,
cart -> redis, ...) are reported by the services themselves in their answers.

Exit status: 0 all normal flows worked (and, with --expect-blocked, no rogue
flow connected); 1 a normal flow failed; 3 a rogue flow connected while
--expect-blocked was given; 2 usage error or testbed not up.
"""

import argparse
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import cluster  # noqa: E402
import shopd  # noqa: E402

PY = sys.executable or "/usr/bin/python3"
FAMILIES = (4, 6)
# Ports a curious pod would try; 8080 is open on payments, the rest refuse.
SCAN_PORTS = [21, 22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9090]

# Every flow the table knows: (name, from, to, port).  The normal ones must
# all work; the rogue ones are what a least-privilege policy has to stop.
NORMAL = [
    ("dns", "shop-web/loadgen", "kube-system/kube-dns", "53/udp"),
    ("dns", "shop-web/frontend", "kube-system/kube-dns", "53/udp"),
    ("dns", "shop-api/payments", "kube-system/kube-dns", "53/udp"),
    ("ping", "shop-web/loadgen", "shop-web/frontend", "icmp"),
    ("storefront", "shop-web/loadgen", "shop-web/frontend", "8080/tcp"),
    ("catalog-api", "shop-web/frontend", "shop-api/catalog", "8080/tcp"),
    ("cart-api", "shop-web/frontend", "shop-api/cart", "8080/tcp"),
    ("payments-api", "shop-web/frontend", "shop-api/payments", "8080/tcp"),
    ("cart-redis", "shop-api/cart", "shop-data/redis", "6379/tcp"),
    ("metrics", "shop-web/frontend", "shop-data/statsd", "8125/udp"),
    ("metrics", "shop-api/cart", "shop-data/statsd", "8125/udp"),
    ("cdn", "shop-api/catalog", "world/cdn.partner.example", "80/tcp"),
    ("partner-api", "shop-api/payments", "world/api.partner.example", "80/tcp"),
] + [("kubelet-probe", "node/" + n.name, "pods on " + n.name, "8080,6379,53/tcp")
     for n in cluster.NODES]

ROGUE = [
    ("rogue-redis", "shop-web/frontend", "shop-data/redis", "6379/tcp"),
    ("rogue-scan", "shop-web/loadgen", "shop-api/payments", "%d ports/tcp" % len(SCAN_PORTS)),
    ("rogue-egress", "shop-api/payments", "world %s (no name)" % cluster.WORLD["unnamed"][0],
     "80/tcp"),
]


def svc(app):
    s = [s for s in cluster.SERVICES if s.name == app][0]
    return s.fqdn


def ip_of(pod, family):
    return pod.ip4 if family == 4 else pod.ip6


# ------------------------------------------------------------------ plan


def build_plan(rogue):
    """{netns: [action, ...]}: who sends what.  Actions are plain dicts."""
    first = lambda app: cluster.pods_of(app)[0]  # noqa: E731
    loadgen, frontend, payments = first("loadgen"), first("frontend"), first("payments")
    dns = cluster.dns_pod()
    plan = {}

    def add(pod_or_ns, **action):
        ns = pod_or_ns if isinstance(pod_or_ns, str) else pod_or_ns.netns
        for fam in FAMILIES:
            plan.setdefault(ns, []).append(dict(action, family=fam))

    add(loadgen, kind="dns", flow="dns", src="shop-web/loadgen", server=dns,
        names=[svc("frontend")])
    add(frontend, kind="dns", flow="dns", src="shop-web/frontend", server=dns,
        names=[svc("catalog"), svc("cart"), svc("payments"), svc("statsd")])
    add(payments, kind="dns", flow="dns", src="shop-api/payments", server=dns,
        names=["api.partner.example"])
    add(loadgen, kind="ping", flow="ping", src="shop-web/loadgen", host=svc("frontend"))
    add(loadgen, kind="storefront", flow="storefront", src="shop-web/loadgen",
        host=svc("frontend"), port=8080, min_attempts=5)
    for node in cluster.NODES:
        add(node.netns, kind="probe", flow="kubelet-probe", src="node/" + node.name,
            pods=[p.name for p in cluster.PODS if p.node is node and p.app.ports
                  and any(proto == "TCP" for _n, _p, proto in p.app.ports)])
    if rogue:
        add(frontend, kind="redis", flow="rogue-redis", src="shop-web/frontend", rogue=True)
        add(loadgen, kind="scan", flow="rogue-scan", src="shop-web/loadgen",
            pod=payments.name, rogue=True)
        add(payments, kind="egress", flow="rogue-egress", src="shop-api/payments", rogue=True)
    # The agent only needs plain data; resolve pod objects to addresses now.
    for actions in plan.values():
        for a in actions:
            if isinstance(a.get("server"), cluster.Pod):
                a["server"] = ip_of(a["server"], a["family"])
    return plan


# ----------------------------------------------------------------- agent


def dns_query(server, name, qtype, family, timeout=1.5):
    """One UDP query; returns (rcode, answer count)."""
    qid = random.getrandbits(16)
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    with socket.socket(af, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(header + qname + struct.pack(">HH", qtype, 1), (server, 53))
        while True:
            data = s.recv(1500)
            rid, flags, _qd, ancount = struct.unpack(">HHHH", data[:8])
            if rid == qid:
                return flags & 0xF, ancount


def do_dns(a):
    for name in a["names"]:
        for qtype in (1, 28):  # A, AAAA
            rcode, count = dns_query(a["server"], name, qtype, a["family"])
            if rcode != 0 or count == 0:
                return False, "%s %s: rcode %d, %d answers" % (name, "A" if qtype == 1 else "AAAA",
                                                               rcode, count)
    return True, ""


def do_ping(a):
    addr = shopd.resolve(a["host"], 0, a["family"], socket.SOCK_DGRAM)[0]
    r = subprocess.run(["ping", "-%d" % a["family"], "-c1", "-W1", "-n", "-q", addr],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0, "" if r.returncode == 0 else "no reply from %s" % addr


def storefront_request(n):
    """The n-th request of a shopper: browse, look at a product, add, view, buy."""
    user = "u%d" % random.randint(1, 50)
    pid = random.randint(1, 999)
    return [("GET", "/", None),
            ("GET", "/products/%d" % pid, None),
            ("POST", "/cart/items", {"user": user, "product_id": pid, "qty": random.randint(1, 3)}),
            ("GET", "/cart/%s" % user, None),
            ("POST", "/checkout", {"user": user})][n % 5]


def do_storefront(a, n, report):
    method, path, body = storefront_request(n)
    hop, _status, _data, calls = shopd.http_call(a["flow"], a["src"], a["family"],
                                                 (a["host"], a["port"]), method, path, body,
                                                 read_timeout=10.0)
    for c in calls:  # hops the services made on our behalf
        report(c["flow"], c["src"], c["family"], c["ok"], c.get("error", ""))
    return hop["ok"], hop["error"] and "%s %s: %s" % (method, path, hop["error"])


def tcp_reach(addr, port, timeout=1.0):
    """'open', 'closed' (refused: the host answered) or 'silent' (nothing came back)."""
    af = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(af, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((addr, port))
            return "open"
        except ConnectionRefusedError:
            return "closed"
        except OSError:
            return "silent"


def do_probe(a):
    """What kubelet does: GET /healthz on HTTP pods, a TCP connect on the others."""
    bad = []
    for name in a["pods"]:
        pod = cluster.find_pod(name)[0]
        addr = ip_of(pod, a["family"])
        _n, port, _proto = pod.app.ports[-1]
        if pod.app.ports[0][0] == "http":
            hop, *_ = shopd.http_call("probe", a["src"], a["family"], (addr, port), "GET", "/healthz")
            ok = hop["ok"]
        else:
            ok = tcp_reach(addr, port) == "open"
        if not ok:
            bad.append("%s:%d" % (pod.name, port))
    return not bad, "failed: " + " ".join(bad) if bad else ""


def do_redis(a):
    hop, reply = shopd.redis_command(a["flow"], a["src"], a["family"], "PING")
    return reply == "PONG", hop["error"] or "reply %r" % (reply,)


def do_scan(a):
    addr = ip_of(cluster.find_pod(a["pod"])[0], a["family"])
    results = {}
    threads = [threading.Thread(target=lambda p=p: results.__setitem__(p, tcp_reach(addr, p)))
               for p in SCAN_PORTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = sorted(p for p, r in results.items() if r != "silent")
    opened = sorted(p for p, r in results.items() if r == "open")
    return bool(answered), "%d/%d ports answered, open: %s" % (
        len(answered), len(SCAN_PORTS), ",".join(map(str, opened)) or "none")


def do_egress(a):
    addr = cluster.WORLD["unnamed"][0 if a["family"] == 4 else 1]
    r = tcp_reach(addr, 80)
    return r != "silent", "%s port 80: %s" % (addr, r)


def run_action(a, deadline, report, attempts=None):
    """Repeat one action until the deadline (at least min_attempts times);
    rogue actions run a few times only: each may cost a full timeout.
    With `attempts`, run exactly that many (min_attempts still applies)."""
    n = 0
    limit = 3 if a.get("rogue") else 10 ** 6
    if attempts:
        limit, deadline = max(attempts, a.get("min_attempts", 1)), float("inf")
    while n < limit and (n < a.get("min_attempts", 1) or time.monotonic() < deadline):
        try:
            if a["kind"] == "storefront":
                ok, err = do_storefront(a, n, report)
            else:
                ok, err = KINDS[a["kind"]](a)
        except (OSError, ValueError, IndexError) as e:
            ok, err = False, shopd.describe(e)
        report(a["flow"], a["src"], a["family"], ok, err)
        n += 1
        time.sleep(0.5 if a["kind"] in ("probe", "ping") else 0.2)


KINDS = {"dns": do_dns, "ping": do_ping, "probe": do_probe, "redis": do_redis,
         "scan": do_scan, "egress": do_egress}


def agent():
    job = json.load(sys.stdin)
    random.seed(job.get("seed"))
    deadline = time.monotonic() + job["seconds"]
    records, lock = [], threading.Lock()

    def report(flow, src, family, ok, error=""):
        with lock:
            records.append({"flow": flow, "src": src, "family": family, "ok": bool(ok),
                            "error": error or ""})

    threads = [threading.Thread(target=run_action, args=(a, deadline, report, job.get("attempts")))
               for a in job["actions"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(records, sys.stdout)
    return 0


# ------------------------------------------------------------------- run


def run_agents(plan, seconds, seed, attempts=None):
    """One agent per netns, all at once; returns every record they sent back."""
    procs = []
    for i, (ns, actions) in enumerate(sorted(plan.items())):
        job = {"seconds": seconds, "actions": actions, "attempts": attempts,
               "seed": None if seed is None else seed + i}
        p = subprocess.Popen(["ip", "netns", "exec", ns, PY, os.path.abspath(__file__), "agent"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write(json.dumps(job))
        p.stdin.close()
        procs.append((ns, p))
    records = []
    for ns, p in procs:
        try:
            out = p.stdout.read()
            p.wait(timeout=seconds + 120)
            records += json.loads(out)
        except (ValueError, subprocess.TimeoutExpired) as e:
            p.kill()
            sys.stderr.write("traffic: agent in %s failed: %s\n" % (ns, e))
    return records


def tabulate(records, rogue):
    """One row per registered flow and family, in registry order."""
    rows = []
    for kind, flows in (("normal", NORMAL), ("rogue", ROGUE if rogue else [])):
        for name, src, dst, port in flows:
            for fam in FAMILIES:
                mine = [r for r in records
                        if r["flow"] == name and r["src"] == src and r["family"] == fam]
                errors = [r["error"] for r in mine if not r["ok"] and r["error"]]
                rows.append({"kind": kind, "flow": name, "from": src, "to": dst, "port": port,
                             "ip": "v%d" % fam, "attempts": len(mine),
                             "ok": sum(r["ok"] for r in mine),
                             "error": errors[-1] if errors else
                             next((r["error"] for r in mine if r["error"]), "")})
    for r in rows:
        if r["kind"] == "normal":
            r["result"] = "ok" if r["attempts"] and r["ok"] == r["attempts"] else (
                "FAILED" if r["attempts"] else "FAILED (never ran)")
        else:
            r["result"] = "CONNECTED" if r["ok"] else ("blocked" if r["attempts"] else "never ran")
    return rows


def print_table(rows):
    cols = [("FLOW", "flow"), ("FROM", "from"), ("TO", "to"), ("PORT", "port"), ("IP", "ip"),
            ("ATTEMPTS", "attempts"), ("OK", "ok"), ("RESULT", "result")]
    width = {k: max(len(h), *(len(str(r[k])) for r in rows)) for h, k in cols}
    print("  ".join(h.ljust(width[k]) for h, k in cols).rstrip())
    for r in rows:
        line = "  ".join(str(r[k]).ljust(width[k]) for _h, k in cols).rstrip()
        if r["result"] not in ("ok", "blocked") and r["error"]:
            line += "  (" + r["error"] + ")"
        elif r["kind"] == "rogue" and r["error"]:
            line += "  (" + r["error"] + ")"
        print(line)


def run(args):
    if not os.path.exists("/run/netns/" + cluster.FABRIC_NETNS):
        sys.stderr.write("traffic: the testbed is not up (run: polc-testbed up)\n")
        return 2
    rogue = args.rogue or args.expect_blocked
    t0 = time.monotonic()
    records = run_agents(build_plan(rogue), args.seconds, args.seed, args.attempts)
    rows = tabulate(records, rogue)
    print_table(rows)
    normal = [r for r in rows if r["kind"] == "normal"]
    failed = [r for r in normal if r["result"] != "ok"]
    connected = [r for r in rows if r["kind"] == "rogue" and r["result"] == "CONNECTED"]
    summary = "traffic: %d/%d normal flows ok" % (len(normal) - len(failed), len(normal))
    if rogue:
        summary += ", %d/%d rogue flows connected" % (
            len(connected), len([r for r in rows if r["kind"] == "rogue"]))
    print("%s (%.1fs)" % (summary, time.monotonic() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if failed:
        return 1
    if args.expect_blocked and connected:
        print("traffic: rogue flows connected but --expect-blocked was given")
        return 3
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="polc-testbed traffic", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", prog="polc-testbed traffic",
                       description="Run the shop's traffic and print one row per flow and family.",
                       epilog="exit status: 0 all normal flows ok; 1 a normal flow failed; "
                       "2 usage or testbed down; 3 a rogue flow connected with --expect-blocked")
    r.add_argument("--rogue", action="store_true", help="also run flows a policy must block")
    r.add_argument("--expect-blocked", action="store_true",
                   help="exit 3 if any rogue flow connects (implies --rogue)")
    r.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    r.add_argument("--seed", type=int, help="seed for the random ids")
    r.add_argument("--attempts", type=int, metavar="N",
                   help="run each flow N times instead of for --seconds (storefront: its"
                   " 5 kinds of request at least once)")
    r.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    sub.add_parser("agent")
    args = ap.parse_args(argv)
    return agent() if args.cmd == "agent" else run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
