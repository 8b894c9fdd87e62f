#!/usr/bin/python3
"""Traffic for the runtime tests, sent from inside the testbed's namespaces.

  rtprobe.py plan-matrix                     every flow matrix.sh compares, as JSON
  rtprobe.py trace --polc P -i INV -p POL... PLAN
                                             polc trace --json for each flow of a plan
  rtprobe.py probe [--rate R] [--timeout T] PLAN
                                             send each flow once; did it reach the peer?
  rtprobe.py verdicts [--expect reached|blocked] PLAN RESULTS
                                             one ok/FAIL line per probed flow
  rtprobe.py check-matrix ...                compare probes, traces and polc's events
  rtprobe.py exchange --netns NS --kind http|hold|redis|udp|ping --dst IP --port P
                                             one whole request and its replies
  rtprobe.py echo-server --netns NS --port P --out FILE
                                             TCP and UDP echo, and a packet counter
  rtprobe.py traffic --config FILE --out FILE --stop-file FILE
                                             continuous traffic (long-lived TCP, new TCP, UDP)
  rtprobe.py commands --out FILE CMDFILE     run commands one by one, timed
  rtprobe.py synflood --netns NS --dst IP --dport P --count N [--sport P]
                                             TCP SYNs from a pod's own address
  rtprobe.py analyze-swaps ...               what the traffic saw while images were swapped

A probe "reaches" its peer when anything comes back: a TCP connection or a reset,
a UDP answer or an ICMP port unreachable, an echo reply.  A flow that polc drops
times out.  Sockets are opened inside a pod's network namespace with setns(2)
and then used from here: one process serves every namespace at once.

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import ctypes
import errno
import ipaddress
import json
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_ORIG_NS = os.open("/proc/thread-self/ns/net", os.O_RDONLY)


def setns_fd(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def enter(netns):
    """Moves the calling thread into a testbed namespace (by name, as in /run/netns)."""
    fd = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


def leave():
    setns_fd(_ORIG_NS)


def load_cluster(testbed_dir):
    sys.path.insert(0, testbed_dir)
    import cluster  # noqa: E402
    return cluster


def family_of(addr):
    return 6 if ":" in addr else 4


def norm(addr):
    return str(ipaddress.ip_address(addr))


def mono():
    return time.monotonic()


# ------------------------------------------------------------------ payloads


def dns_query(name="kube-dns.kube-system.svc.cluster.local", qtype=1):
    qid = random.getrandbits(16)
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return header + qname + struct.pack(">HH", qtype, 1)


def payload_for(flow):
    kind = flow.get("payload") or ("dns" if flow["port"] == 53 else "statsd" if flow["port"] == 8125
                                   else "probe")
    if kind == "dns":
        return dns_query()
    if kind == "statsd":
        return b"rtprobe.flow%d:1|c" % flow["id"]
    return b"rtprobe %d\n" % flow["id"]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(ident, seq, v6):
    body = b"rtprobe-echo-%05d" % ident
    typ = 128 if v6 else 8
    hdr = struct.pack("!BBHHH", typ, 0, 0, ident, seq)
    if v6:
        return hdr + body  # the kernel fills in ICMPv6 checksums
    c = csum(hdr + body)
    return struct.pack("!BBHHH", typ, 0, c, ident, seq) + body


# ------------------------------------------------------------------ plan-matrix


def cmd_plan_matrix(args):
    """Every ordered pod pair x ports x protocols x families, pods to the world, the
    nodes to every pod, the world to every pod."""
    cl = load_cluster(args.testbed)
    tcp_ports = [8080, 6379, 53, 9090]  # listeners: http, redis, dns-tcp; 9090 is closed
    udp_ports = [53, 8125, 9]  # dns, statsd (acks); 9 is closed: an ICMP error answers
    flows = []

    def add(**f):
        f["id"] = len(flows) + 1
        flows.append(f)

    def ip(p, fam):
        return p.ip4 if fam == 4 else p.ip6

    for fam in (4, 6):
        for src in cl.PODS:
            for dst in cl.PODS:
                if src is dst:
                    continue
                base = dict(kind="pod-pod", netns=src.netns, family=fam, src=ip(src, fam),
                            dst=ip(dst, fam), src_node=src.node.name, dst_node=dst.node.name,
                            src_name="%s/%s" % (src.namespace, src.name),
                            dst_name="%s/%s" % (dst.namespace, dst.name))
                for port in tcp_ports:
                    add(proto="tcp", port=port, **base)
                for port in udp_ports:
                    add(proto="udp", port=port, **base)
                add(proto="icmp", port=8 if fam == 4 else 128, **base)
            for name, addrs in sorted(cl.WORLD["names"].items()) + [("unnamed", cl.WORLD["unnamed"])]:
                addr = addrs[0] if fam == 4 else addrs[1]
                add(kind="pod-world", netns=src.netns, family=fam, src=ip(src, fam), dst=addr,
                    src_node=src.node.name, dst_node=None,
                    src_name="%s/%s" % (src.namespace, src.name), dst_name="world/" + name,
                    proto="tcp", port=80)
        for node in cl.NODES:
            nip = node.ip4 if fam == 4 else node.ip6
            for dst in cl.PODS:
                for port in (8080, 9090):
                    add(kind="node-pod", netns=node.netns, family=fam, src=nip, bind=nip,
                        dst=ip(dst, fam), src_node=None, dst_node=dst.node.name,
                        src_name="node/" + node.name,
                        dst_name="%s/%s" % (dst.namespace, dst.name), proto="tcp", port=port)
        wip = cl.WORLD["ip4"] if fam == 4 else cl.WORLD["ip6"]
        for dst in cl.PODS:
            add(kind="world-pod", netns=cl.WORLD["netns"], family=fam, src=wip, bind=wip,
                dst=ip(dst, fam), src_node=None, dst_node=dst.node.name, src_name="world",
                dst_name="%s/%s" % (dst.namespace, dst.name), proto="tcp", port=8080)
    json.dump(flows, sys.stdout, indent=0)
    sys.stdout.write("\n")


# ------------------------------------------------------------------ trace


def trace_port(flow):
    if flow["proto"] == "icmp":
        return "ICMP/8" if flow["family"] == 4 else "ICMPv6/128"
    return "%d/%s" % (flow["port"], flow["proto"].upper())


def cmd_trace(args):
    flows = json.load(open(args.plan))
    base = [args.polc, "trace", "--json"]
    for i in args.inventory:
        base += ["-i", i]
    for p in args.policies:
        base += ["-p", p]

    def one(flow):
        cmd = base + ["--from", flow["src"], "--to", flow["dst"], "--port", trace_port(flow)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 1):
            return flow["id"], {"error": "exit %d: %s" % (r.returncode, r.stderr.strip()[:300]),
                                "command": " ".join(cmd)}
        t = json.loads(r.stdout)
        out = {"verdict": t["verdict"], "exit": r.returncode}
        for half in ("egress", "ingress"):
            h = t.get(half)
            if h:
                out[half] = {"verdict": h.get("verdict"), "reason": h.get("reason"),
                             "enforced": h.get("enforced"), "endpoint": h.get("endpoint")}
        return flow["id"], out

    res = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for fid, out in ex.map(one, flows):
            res[str(fid)] = out
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


# ------------------------------------------------------------------ probe


class Prober:
    """Sends each flow of a plan once, paced, and waits for what comes back."""

    def __init__(self, timeout):
        self.sel = selectors.DefaultSelector()
        self.timeout = timeout
        self.pending = {}  # socket -> (flow, kind, t0)
        self.icmp = {}  # (netns, family) -> raw socket
        self.icmp_wait = {}  # (netns, family, ident) -> (flow, t0)
        self.results = {}

    def done(self, flow, outcome, detail="", t0=None, sport=None):
        if flow["id"] in self.results:
            return
        self.results[flow["id"]] = {"id": flow["id"], "outcome": outcome, "detail": detail,
                                    "sport": sport, "ms": round((mono() - t0) * 1000, 1) if t0 else None}

    def icmp_socket(self, netns, fam):
        key = (netns, fam)
        if key not in self.icmp:
            if fam == 4:
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            else:
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setblocking(False)
            self.icmp[key] = s
            self.sel.register(s, selectors.EVENT_READ, ("icmp", key))
        return self.icmp[key]

    def launch(self, flow):
        fam = flow.setdefault("family", family_of(flow["dst"]))
        af = socket.AF_INET if fam == 4 else socket.AF_INET6
        t0 = mono()
        enter(flow["netns"])
        try:
            if flow["proto"] == "icmp":
                s = self.icmp_socket(flow["netns"], fam)
                ident = flow.get("icmp_id") or (flow["id"] & 0xFFFF)
                self.icmp_wait[(flow["netns"], fam, ident)] = (flow, t0)
                pkt = echo_request(ident, flow.get("icmp_seq", 1), fam == 6)
                s.sendto(pkt, (flow["dst"], 0))
                return ident
            kind = socket.SOCK_STREAM if flow["proto"] == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(af, kind)
            s.setblocking(False)
            if flow.get("bind") or flow.get("sport"):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((flow.get("bind") or ("0.0.0.0" if fam == 4 else "::"), flow.get("sport") or 0))
            if flow["proto"] == "tcp":
                rc = s.connect_ex((flow["dst"], flow["port"]))
                if rc not in (0, errno.EINPROGRESS):
                    s.close()
                    self.done(flow, "error", errno.errorcode.get(rc, str(rc)), t0)
                    return None
                self.sel.register(s, selectors.EVENT_WRITE, ("tcp", flow))
            else:
                s.connect((flow["dst"], flow["port"]))
                s.send(payload_for(flow))
                self.sel.register(s, selectors.EVENT_READ, ("udp", flow))
            sport = s.getsockname()[1]
            self.pending[s] = (flow, t0, sport)
            return sport
        except OSError as e:
            self.done(flow, "error", str(e), t0)
            return None
        finally:
            leave()

    def on_icmp(self, key):
        s = self.icmp[key]
        while True:
            try:
                data, addr = s.recvfrom(4096)
            except BlockingIOError:
                return
            fam = key[1]
            if fam == 4:
                data = data[(data[0] & 0xF) * 4:]
                want = 0
            else:
                want = 129
            if len(data) < 8 or data[0] != want:
                continue
            ident = struct.unpack("!H", data[4:6])[0]
            w = self.icmp_wait.pop((key[0], fam, ident), None)
            if w and norm(addr[0]) == norm(w[0]["dst"]):
                self.done(w[0], "answered", "echo reply", w[1], ident)
            elif w:
                self.icmp_wait[(key[0], fam, ident)] = w

    def on_sock(self, s, what, flow):
        f, t0, sport = self.pending.pop(s)
        self.sel.unregister(s)
        try:
            if what == "tcp":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    self.done(f, "connected", "", t0, sport)
                elif err == errno.ECONNREFUSED:
                    self.done(f, "refused", "reset", t0, sport)
                else:
                    self.done(f, "error", errno.errorcode.get(err, str(err)), t0, sport)
            else:
                try:
                    data = s.recv(4096)
                    self.done(f, "answered", data[:40].decode(errors="replace"), t0, sport)
                except ConnectionRefusedError:
                    self.done(f, "refused", "icmp port unreachable", t0, sport)
                except OSError as e:
                    self.done(f, "error", str(e), t0, sport)
        finally:
            s.close()

    def expire(self, now):
        for s, (f, t0, sport) in list(self.pending.items()):
            if now - t0 > self.timeout:
                del self.pending[s]
                self.sel.unregister(s)
                s.close()
                self.done(f, "timeout", "", t0, sport)
        for k, (f, t0) in list(self.icmp_wait.items()):
            if now - t0 > self.timeout:
                del self.icmp_wait[k]
                self.done(f, "timeout", "", t0, k[2])

    def run(self, flows, rate):
        start = mono()
        i = 0
        while i < len(flows) or self.pending or self.icmp_wait:
            now = mono()
            while i < len(flows) and (rate <= 0 or now >= start + i / rate):
                self.launch(flows[i])
                i += 1
            wait = 0.01 if i < len(flows) else 0.05
            for key, _ev in self.sel.select(timeout=wait):
                tag, data = key.data
                if tag == "icmp":
                    self.on_icmp(data)
                else:
                    self.on_sock(key.fileobj, tag, data)
            self.expire(mono())
        for s in self.icmp.values():
            s.close()
        return [self.results[f["id"]] for f in flows]


def read_plan(path):
    """A JSON list, or one JSON object a line; flows without an id are numbered."""
    text = open(path).read()
    try:
        flows = json.loads(text)
    except ValueError:
        flows = [json.loads(line) for line in text.splitlines() if line.strip()]
    for i, f in enumerate(flows):
        f.setdefault("id", i + 1)
    return flows


def cmd_probe(args):
    flows = read_plan(args.plan)
    t0 = mono()
    res = Prober(args.timeout).run(flows, args.rate)
    sys.stderr.write("rtprobe: %d probes in %.1fs\n" % (len(flows), mono() - t0))
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    if args.expect:
        bad = [r for r in res if (r["outcome"] in REACHED) != (args.expect == "reached")]
        for r in bad:
            f = [x for x in flows if x["id"] == r["id"]][0]
            sys.stderr.write("rtprobe: %s: %s -> %s %s/%d: %s %s (expected %s)\n" % (
                f.get("name", ""), f.get("src", f["netns"]), f["dst"], f["proto"], f["port"],
                r["outcome"], r["detail"], args.expect))
        sys.exit(1 if bad else 0)


def cmd_verdicts(args):
    """One line per flow of a probe: ok/FAIL against what was expected (reached/blocked,
    per flow in "expect" or for all)."""
    flows = read_plan(args.plan)
    res = {r["id"]: r for r in json.load(open(args.results))}
    for f in flows:
        r = res[f["id"]]
        want = f.get("expect", args.expect)
        got = "reached" if r["outcome"] in REACHED else "blocked"
        print("%s %s: %s (%s -> %s %s/%d): %s%s" % (
            "ok" if got == want else "FAIL", f.get("name", "flow %d" % f["id"]),
            "is %s" % want if got == want else "expected %s" % want,
            f.get("from", f["netns"]), f["dst"], f["proto"], f["port"], r["outcome"],
            " " + r["detail"] if r["detail"] else ""))


REACHED = ("connected", "refused", "answered")

# ------------------------------------------------------------------ check-matrix

TRACE_TO_DROP = {"default-deny": "default-deny", "policy-deny": "policy-deny",
                 "l7-redirect": "needs-proxy", "auth-required": "needs-auth"}


def expected(flow, tr):
    """(reached?, node of the dropping half, direction, observe reason) for a flow.
    polc has no proxy: a flow that needs one (or authentication) drops, by design."""
    for half in ("egress", "ingress"):
        h = tr.get(half)
        if not h or not h.get("enforced"):
            continue
        drop = TRACE_TO_DROP.get(h["reason"])
        if drop:
            node = flow["src_node"] if half == "egress" else flow["dst_node"]
            return False, node, half, drop
    return True, None, None, None


def load_events(spec):
    ev = {}
    for item in spec:
        node, path = item.split("=", 1)
        rows = []
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
        ev[node] = rows
    return ev


def cmd_check_matrix(args):
    flows = json.load(open(args.plan))
    traces = json.load(open(args.traces))
    results = {r["id"]: r for r in json.load(open(args.results))}
    events = load_events(args.events)
    # Events keyed by the packet's tuple (ICMP: the echo identifier is the "port").
    index = {}
    for node, rows in events.items():
        for e in rows:
            k = (node, e["direction"], norm(e["source_ip"]), norm(e["destination_ip"]),
                 e["protocol"], e["source_port"])
            index.setdefault(k, []).append(e)
    n = agree = 0
    mism, reason_bad, reason_ok, reason_missing, trace_err = [], [], 0, [], []
    forwarded_dropped = []
    by_kind = {}
    exp_drops = {}
    for f in flows:
        tr = traces.get(str(f["id"]))
        r = results.get(f["id"])
        if not tr or "error" in tr:
            trace_err.append((f, tr))
            continue
        n += 1
        reach, node, half, reason = expected(f, tr)
        got = r["outcome"] in REACHED
        proto = {"tcp": 6, "udp": 17, "icmp": 1 if f["family"] == 4 else 58}[f["proto"]]
        k = by_kind.setdefault(f["kind"], [0, 0])
        k[0] += 1
        if got == reach:
            agree += 1
            k[1] += 1
        else:
            mism.append((f, tr, r))
        if not reach:
            exp_drops.setdefault((node, reason), 0)
            exp_drops[(node, reason)] += 1
            evs = index.get((node, half, norm(f["src"]), norm(f["dst"]), proto, r["sport"]), [])
            dropped = [e for e in evs if e["verdict"] == "DROPPED"]
            if not dropped:
                reason_missing.append((f, node, half, reason, r))
            elif all(e["reason"] == reason for e in dropped):
                reason_ok += 1
            else:
                reason_bad.append((f, reason, dropped))
        else:
            for half2, node2 in (("egress", f["src_node"]), ("ingress", f["dst_node"])):
                if node2 is None:
                    continue
                evs = index.get((node2, half2, norm(f["src"]), norm(f["dst"]), proto, r["sport"]), [])
                if any(e["verdict"] == "DROPPED" for e in evs):
                    forwarded_dropped.append((f, half2, evs))

    def fl(f):
        return "%s -> %s %s/%d v%d (%s %s -> %s)" % (f["src_name"], f["dst_name"], f["proto"],
                                                     f["port"], f["family"], f["kind"], f["src"],
                                                     f["dst"])

    def tr_s(tr):
        parts = ["trace %s" % tr["verdict"]]
        for h in ("egress", "ingress"):
            if tr.get(h):
                parts.append("%s %s" % (h, tr[h]["reason"]))
        return ", ".join(parts)

    for f, tr in trace_err:
        print("FAIL trace could not decide %s: %s" % (fl(f), tr and tr.get("error")))
    for f, tr, r in mism:
        print("FAIL real outcome differs from trace: %s: %s, real %s %s (%s ms)" % (
            fl(f), tr_s(tr), r["outcome"], r["detail"], r["ms"]))
    for f, reason, dropped in reason_bad:
        print("FAIL wrong drop reason: %s: expected %s, events say %s" % (
            fl(f), reason, sorted(set(e["reason"] for e in dropped))))
    for f, node, half, reason, r in reason_missing[:20]:
        print("MISSING no DROPPED event on %s %s for %s (expected %s; outcome %s, sport %s)" % (
            node, half, fl(f), reason, r["outcome"], r["sport"]))
    for f, half, evs in forwarded_dropped[:20]:
        print("FAIL an allowed flow has a DROPPED event at %s: %s: %s" % (
            half, fl(f), [e["reason"] for e in evs]))
    for kind, (tot, ok) in sorted(by_kind.items()):
        print("INFO %-9s %4d flows, %4d agree with trace" % (kind, tot, ok))
    denied = sum(exp_drops.values())
    print("COUNT compared=%d agree=%d mismatched=%d trace_errors=%d denied=%d reason_ok=%d "
          "reason_wrong=%d reason_no_event=%d allowed_with_drop_event=%d" % (
              n, agree, len(mism), len(trace_err), denied, reason_ok, len(reason_bad),
              len(reason_missing), len(forwarded_dropped)))
    for (node, reason), cnt in sorted(exp_drops.items(), key=str):
        print("DROPS %s %s %d" % (node, reason, cnt))


# ------------------------------------------------------------------ echo server


def parse_l4(frame):
    """(src ip, proto, dport) of an Ethernet frame with IPv4/IPv6 and TCP/UDP, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0xF) * 4
        proto = frame[23]
        src = socket.inet_ntop(socket.AF_INET, frame[26:30])
        l4 = 14 + ihl
    elif etype == 0x86DD and len(frame) >= 54:
        proto = frame[20]
        src = socket.inet_ntop(socket.AF_INET6, frame[22:38])
        l4 = 54
    else:
        return None
    if proto not in (6, 17) or len(frame) < l4 + 4:
        return src, proto, 0
    return src, proto, struct.unpack("!H", frame[l4 + 2:l4 + 4])[0]


def cmd_echo_server(args):
    enter(args.netns)
    stop = threading.Event()
    counts = {}
    lock = threading.Lock()

    def tcp_conn(c):
        c.settimeout(1.0)
        while not stop.is_set():
            try:
                d = c.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            try:
                c.sendall(d)
            except OSError:
                break
        c.close()

    def tcp_accept(ls):
        ls.settimeout(0.5)
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()

    def udp_echo(us):
        us.settimeout(0.5)
        while not stop.is_set():
            try:
                d, a = us.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                us.sendto(d, a)
            except OSError:
                pass

    def sniff(ps):
        ps.settimeout(0.5)
        while not stop.is_set():
            try:
                frame, addr = ps.recvfrom(256)
            except socket.timeout:
                continue
            except OSError:
                break
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            p = parse_l4(frame)
            if p and p[2] == args.port:
                k = "%s %s" % (norm(p[0]), {6: "tcp", 17: "udp"}.get(p[1], p[1]))
                with lock:
                    counts[k] = counts.get(k, 0) + 1

    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", args.port))
    ls.listen(512)
    us = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    us.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    us.bind(("::", args.port))
    ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    threads = [threading.Thread(target=t, args=(a,), daemon=True)
               for t, a in ((tcp_accept, ls), (udp_echo, us), (sniff, ps))]
    for t in threads:
        t.start()

    def on_term(*_):
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if args.ready:
        open(args.ready, "w").write("ready\n")
    while not stop.is_set():
        stop.wait(0.2)
    for t in threads:
        t.join(2)
    with lock:
        json.dump(counts, open(args.out, "w"))


# ------------------------------------------------------------------ traffic


class Flow:
    def __init__(self, cfg, stop, deadline):
        self.cfg = cfg
        self.stop = stop
        self.deadline = deadline  # seconds: slower than this is a failure
        self.lock = threading.Lock()
        self.stats = {"attempts": 0, "ok": 0, "failed": 0, "late": 0, "errors": {}}
        self.samples = []  # (t0, t1 or None, ok) for the window analysis

    def note(self, t0, t1, ok, err=None):
        with self.lock:
            st = self.stats
            st["attempts"] += 1
            if ok and t1 - t0 <= self.deadline:
                st["ok"] += 1
            elif ok:
                st["late"] += 1
            else:
                st["failed"] += 1
                if err:
                    st["errors"][err] = st["errors"].get(err, 0) + 1
            self.samples.append((round(t0, 4), t1 and round(t1, 4), ok))

    def af(self):
        return socket.AF_INET if family_of(self.cfg["dst"]) == 4 else socket.AF_INET6

    def addr(self):
        return (self.cfg["dst"], self.cfg["port"])

    def tcp_long(self, conn_no):
        c = self.cfg
        enter(c["netns"])
        s = None
        while not self.stop.is_set() and s is None:
            try:
                s = socket.create_connection(self.addr(), timeout=c.get("connect_timeout", 1.0))
            except OSError as e:
                with self.lock:
                    self.stats["connect_failures"] = self.stats.get("connect_failures", 0) + 1
                    self.stats["errors"]["connect: " + type(e).__name__] = \
                        self.stats["errors"].get("connect: " + type(e).__name__, 0) + 1
                s = None
                if not c.get("connect_retry"):
                    return
        if s is None:
            return
        with self.lock:
            self.stats["connections"] = self.stats.get("connections", 0) + 1
        s.settimeout(0.1)
        seq = 0
        buf = b""
        interval = c.get("interval", 0.02)
        redis = c.get("proto") == "redis"
        while not self.stop.is_set():
            seq += 1
            msg = b"%d:%d\n" % (conn_no, seq)
            want = msg
            if redis:
                msg, want = b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"
            t0 = mono()
            try:
                s.sendall(msg)
            except OSError as e:
                self.note(t0, None, False, "send: " + type(e).__name__)
                break
            got = False
            err = None
            while not got:
                try:
                    d = s.recv(4096)
                    if not d:
                        err = "closed by peer"
                        break
                    buf += d
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line + b"\n" == want:
                            got = True
                except socket.timeout:
                    # Stop waiting only when the run ends: a late echo is late, not lost.
                    if self.stop.is_set():
                        err = "no echo before the end"
                        break
                except OSError as e:
                    err = type(e).__name__
                    break
            self.note(t0, mono() if got else None, got, err)
            if err and err != "no echo before the end":
                break
            time.sleep(interval)
        s.close()

    def tcp_new(self):
        c = self.cfg
        enter(c["netns"])
        n = 0
        while not self.stop.is_set():
            n += 1
            t0 = mono()
            ok, err = False, None
            try:
                with socket.create_connection(self.addr(), timeout=c.get("timeout", 1.0)) as s:
                    s.settimeout(c.get("timeout", 1.0))
                    if c.get("proto") == "http":
                        s.sendall(b"GET /healthz HTTP/1.0\r\nHost: rt\r\n\r\n")
                        buf = b""
                        while True:
                            d = s.recv(4096)
                            if not d:
                                break
                            buf += d
                        ok = buf.startswith(b"HTTP/1.0 200")
                        err = None if ok else "bad answer %r" % buf[:20]
                    else:
                        msg = b"new %d\n" % n
                        s.sendall(msg)
                        buf = b""
                        while not buf.endswith(b"\n"):
                            d = s.recv(4096)
                            if not d:
                                break
                            buf += d
                        ok = buf == msg
                        if not ok:
                            err = "bad echo"
            except OSError as e:
                err = type(e).__name__
            self.note(t0, mono() if ok else None, ok, err)
            time.sleep(c.get("interval", 0.05))

    def udp(self):
        c = self.cfg
        enter(c["netns"])
        s = socket.socket(self.af(), socket.SOCK_DGRAM)
        s.connect(self.addr())
        timeout = c.get("timeout", 1.0)
        n = 0
        while not self.stop.is_set():
            n += 1
            msg = dns_query() if c.get("proto") == "dns" else b"udp %d" % n
            t0 = mono()
            ok, err = False, None
            try:
                s.send(msg)
                end = t0 + timeout
                while True:
                    left = end - mono()
                    if left <= 0:
                        err = "timeout"
                        break
                    s.settimeout(left)
                    d = s.recv(4096)
                    if d == msg or ((c.get("any_reply") or c.get("proto") == "dns") and d):
                        ok = True
                        break
            except socket.timeout:
                err = "timeout"
            except OSError as e:
                err = type(e).__name__
            self.note(t0, mono() if ok else None, ok, err)
            time.sleep(c.get("interval", 0.02))
        s.close()

    def threads(self):
        k = self.cfg["kind"]
        if k == "tcp-long":
            return [threading.Thread(target=self.tcp_long, args=(i,), daemon=True)
                    for i in range(self.cfg.get("conns", 1))]
        if k == "tcp-new":
            return [threading.Thread(target=self.tcp_new, daemon=True)]
        if k == "udp":
            return [threading.Thread(target=self.udp, daemon=True)]
        raise ValueError(k)


def cmd_traffic(args):
    cfg = json.load(open(args.config))
    stop = threading.Event()
    flows = [Flow(c, stop, args.deadline) for c in cfg]
    threads = [t for f in flows for t in f.threads()]
    for t in threads:
        t.start()
    if args.ready:
        open(args.ready, "w").write("started\n")
    t_start = mono()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        if args.stop_file and os.path.exists(args.stop_file):
            break
        if args.seconds and mono() - t_start > args.seconds:
            break
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(5)
    out = []
    for f in flows:
        d = dict(f.cfg)
        d.update(f.stats)
        if f.cfg.get("samples", True):
            d["samples"] = f.samples
        out.append(d)
    json.dump({"start": t_start, "end": mono(), "flows": out}, open(args.out, "w"))


# ------------------------------------------------------------------ commands


def cmd_commands(args):
    """Runs one command a line (a JSON list of argv lists), records when each ran."""
    cmds = json.load(open(args.cmdfile))
    log = []
    for i, c in enumerate(cmds):
        t0 = mono()
        r = subprocess.run(c["argv"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t1 = mono()
        log.append({"i": i, "tag": c.get("tag"), "t0": t0, "t1": t1, "rc": r.returncode,
                    "output": r.stdout[-400:]})
        if args.pause:
            time.sleep(args.pause)
    json.dump(log, open(args.out, "w"))
    bad = [x for x in log if x["rc"] != 0]
    sys.stderr.write("rtprobe: %d commands, %d failed, %.1fs\n" % (
        len(log), len(bad), (log[-1]["t1"] - log[0]["t0"]) if log else 0))


# ------------------------------------------------------------------ analyze-swaps


def windows(log, tag):
    """Intervals in which the image with this tag was surely active: from the end of
    its load to the start of the next one."""
    out = []
    for a, b in zip(log, log[1:] + [None]):
        if a["tag"] == tag and a["rc"] == 0:
            out.append((a["t1"], b["t0"] if b else float("inf")))
    return out


def inside(t0, t1, wins):
    return any(w0 <= t0 and t1 <= w1 for w0, w1 in wins)


def cmd_analyze_swaps(args):
    traffic = json.load(open(args.traffic))
    log = json.load(open(args.swaps))
    counts = json.load(open(args.sniffed)) if args.sniffed else {}
    wins = {"A": windows(log, "A"), "B": windows(log, "B")}
    swaps = sum(1 for x in log if x["rc"] == 0)
    print("INFO swaps: %d loads, %d succeeded, %d failed; first %.2fs, last %.2fs after start" % (
        len(log), swaps, len(log) - swaps, log[0]["t0"] - traffic["start"],
        log[-1]["t1"] - traffic["start"]))
    during = [(traffic["start"], traffic["end"])]
    for f in traffic["flows"]:
        cls, name = f["class"], f["name"]
        desc = "%s %s (%s -> %s:%d)" % (f["kind"], name, f["netns"].split("-")[1], f["dst"], f["port"])
        st = "attempts %d ok %d late %d failed %d" % (f["attempts"], f["ok"], f["late"], f["failed"])
        if f.get("connections") is not None or f["kind"] == "tcp-long":
            st += " connections %d/%d" % (f.get("connections", 0), f.get("conns", 1))
        if f["errors"]:
            st += " errors %s" % json.dumps(f["errors"], sort_keys=True)
        samples = f.get("samples", [])
        if cls == "both":
            good = (f["failed"] == 0 and f["late"] == 0 and f["attempts"] > 0
                    and (f["kind"] != "tcp-long" or f.get("connections", 0) == f.get("conns", 1)))
            print("%s allowed by both images loses nothing: %s %s" % (
                "ok" if good else "FAIL", desc, st))
        elif cls == "denied":
            got = f["ok"] + f["late"] + f.get("connections", 0)
            print("%s denied by both images never connects: %s %s" % (
                "ok" if got == 0 and f["attempts"] + f.get("connect_failures", 0) > 0 else "FAIL",
                desc, st))
        else:
            # Allowed by one image only: what happened is reported; one thing is checked:
            # a success that started and ended while only the other image was active.
            other = "B" if cls == "a-only" else "A"
            own = "A" if other == "B" else "B"
            bad = [s for s in samples if s[2] and inside(s[0], s[1], wins[other])]
            ok_own = sum(1 for s in samples if s[2] and inside(s[0], s[1], wins[own]))
            fail_own = sum(1 for s in samples if not s[2] and inside(s[0], s[0] + 1.0, wins[own]))
            lat = sorted(s[1] - s[0] for s in samples if s[2])
            p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0  # noqa
            print("INFO %s: %s; completed inside %s windows %d, failed inside %s windows %d; "
                  "latency p50 %.1f ms p99 %.1f ms max %.1f ms" % (
                      cls, desc + " " + st, own, ok_own, own, fail_own, p(0.5), p(0.99), p(1.0)))
            started = sum(1 for s in samples if any(w0 <= s[0] <= w1 for w0, w1 in wins[other]))
            print("%s %s flow never completes while only image %s is active: %s (%d completed; "
                  "%d attempts started in such a window)" % (
                      "ok" if not bad else "FAIL", cls, other, desc, len(bad), started))
    for k, v in sorted(counts.items()):
        print("SNIFF %s %d" % (k, v))


# ------------------------------------------------------------------ exchange


def cmd_exchange(args):
    """One complete request and its replies from a pod; exit 0 if every reply came."""
    enter(args.netns)
    dst, port = args.dst, args.port
    af = socket.AF_INET if family_of(dst) == 4 else socket.AF_INET6
    t0 = mono()
    ok, what = False, ""
    try:
        if args.kind in ("http", "hold"):
            s = socket.create_connection((dst, port), timeout=args.timeout)
            s.settimeout(args.timeout)
            if args.kind == "hold":
                # An established connection that stays idle while other flows run,
                # and is used afterwards: its replies must still pass.
                open(args.portfile, "w").write("%d\n" % s.getsockname()[1])
                time.sleep(args.seconds)
            s.sendall(b"GET %s HTTP/1.0\r\nHost: rt\r\n\r\n" % args.path.encode())
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            s.close()
            status = data.split(b"\r\n", 1)[0].decode(errors="replace")
            ok = " 200 " in status + " "
            what = "%s, %d bytes" % (status, len(data))
        elif args.kind == "redis":
            with socket.create_connection((dst, port), timeout=args.timeout) as s:
                s.settimeout(args.timeout)
                for _ in range(args.count):
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    d = s.recv(64)
                    if d != b"+PONG\r\n":
                        break
                else:
                    ok = True
                what = "%d PING, last answer %r" % (args.count, d)
        elif args.kind == "udp":
            with socket.socket(af, socket.SOCK_DGRAM) as s:
                s.settimeout(args.timeout)
                s.connect((dst, port))
                got = 0
                for i in range(args.count):
                    s.send(payload_for({"id": i, "port": port}))
                    try:
                        s.recv(4096)
                        got += 1
                    except (socket.timeout, ConnectionRefusedError):
                        pass
                ok = got == args.count
                what = "%d of %d datagrams answered" % (got, args.count)
        elif args.kind == "ping":
            v6 = af == socket.AF_INET6
            s = socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
            ident = args.id or random.randint(1, 65535)
            got = set()
            for seq in range(1, args.count + 1):
                s.sendto(echo_request(ident, seq, v6), (dst, 0))
                end = mono() + args.interval
                while mono() < end:
                    s.settimeout(max(0.001, end - mono()))
                    try:
                        d, a = s.recvfrom(4096)
                    except socket.timeout:
                        break
                    if not v6:
                        d = d[(d[0] & 0xF) * 4:]
                    if (len(d) >= 8 and d[0] == (129 if v6 else 0) and norm(a[0]) == norm(dst)
                            and struct.unpack("!H", d[4:6])[0] == ident):
                        got.add(struct.unpack("!H", d[6:8])[0])
            ok = len(got) == args.count
            what = "id %d: %d of %d echo replies" % (ident, len(got), args.count)
    except OSError as e:
        what = "%s: %s" % (type(e).__name__, e)
    print("%s: %s from %s to %s port %d: %s (%.0f ms)" % (
        "ok" if ok else "failed", args.kind, args.netns, dst, port, what, (mono() - t0) * 1000))
    sys.exit(0 if ok else 1)


# ------------------------------------------------------------------ synflood


def cmd_synflood(args):
    """TCP SYNs from the pod's own address and MAC, through its default gateway, over
    AF_PACKET: each new source port is a new flow for conntrack."""
    cl = load_cluster(args.testbed)
    pod = [p for p in cl.PODS if p.netns == args.netns][0]
    enter(args.netns)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    dst = args.dst
    v6 = family_of(dst) == 6
    src = pod.ip6 if v6 else pod.ip4
    smac = bytes.fromhex(pod.mac.replace(":", ""))
    dmac = bytes.fromhex(pod.host_mac.replace(":", ""))
    eth = dmac + smac + struct.pack("!H", 0x86DD if v6 else 0x0800)
    sa = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, src)
    da = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, dst)
    if v6:
        pseudo = sa + da + struct.pack("!IxxxB", 20, 6)
    else:
        pseudo = sa + da + struct.pack("!BBH", 0, 6, 20)
    sent = 0
    t0 = mono()
    ports = list(range(1024, 65536))
    random.shuffle(ports)
    for i in range(args.count):
        sport = args.sport or ports[i % len(ports)]
        seq = random.getrandbits(32)
        tcp = struct.pack("!HHIIBBHHH", sport, args.dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        c = csum(pseudo + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        if v6:
            ip = struct.pack("!IHBB", 6 << 28, 20, 6, 64) + sa + da
        else:
            hdr = struct.pack("!BBHHHBBH", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0) + sa + da
            ip = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        while True:
            try:
                s.send(eth + ip + tcp)
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    time.sleep(0.001)
                    continue
                raise
        sent += 1
        if args.rate and sent % 1000 == 0:
            ahead = t0 + sent / args.rate - mono()
            if ahead > 0:
                time.sleep(ahead)
    print(json.dumps({"sent": sent, "seconds": round(mono() - t0, 2)}))


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tb_default = os.path.join(os.environ.get("POLC_SRCDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")), "samples", "testbed")

    p = sub.add_parser("plan-matrix")
    p.add_argument("--testbed", default=tb_default)
    p.set_defaults(fn=cmd_plan_matrix)

    p = sub.add_parser("trace")
    p.add_argument("--polc", required=True)
    p.add_argument("-i", "--inventory", action="append", default=[])
    p.add_argument("-p", "--policies", action="append", default=[])
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("plan")
    p.set_defaults(fn=cmd_trace)

    p = sub.add_parser("probe")
    p.add_argument("--rate", type=float, default=0, help="flows started per second (0: all at once)")
    p.add_argument("--timeout", type=float, default=1.5)
    p.add_argument("--expect", choices=("reached", "blocked"))
    p.add_argument("plan")
    p.set_defaults(fn=cmd_probe)

    p = sub.add_parser("verdicts")
    p.add_argument("--expect", choices=("reached", "blocked"), default="reached")
    p.add_argument("plan")
    p.add_argument("results")
    p.set_defaults(fn=cmd_verdicts)

    p = sub.add_parser("check-matrix")
    p.add_argument("--plan", required=True)
    p.add_argument("--traces", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--events", action="append", default=[], help="NODE=FILE (observe --json)")
    p.set_defaults(fn=cmd_check_matrix)

    p = sub.add_parser("echo-server")
    p.add_argument("--netns", required=True)
    p.add_argument("--port", type=int, default=7007)
    p.add_argument("--out", required=True)
    p.add_argument("--ready")
    p.set_defaults(fn=cmd_echo_server)

    p = sub.add_parser("traffic")
    p.add_argument("--config", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file")
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--deadline", type=float, default=1.0)
    p.add_argument("--ready")
    p.set_defaults(fn=cmd_traffic)

    p = sub.add_parser("commands")
    p.add_argument("--out", required=True)
    p.add_argument("--pause", type=float, default=0)
    p.add_argument("cmdfile")
    p.set_defaults(fn=cmd_commands)

    p = sub.add_parser("analyze-swaps")
    p.add_argument("--traffic", required=True)
    p.add_argument("--swaps", required=True)
    p.add_argument("--sniffed")
    p.set_defaults(fn=cmd_analyze_swaps)

    p = sub.add_parser("synflood")
    p.add_argument("--testbed", default=tb_default)
    p.add_argument("--netns", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, required=True)
    p.add_argument("--count", type=int, default=200000)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--sport", type=int, default=0)
    p.set_defaults(fn=cmd_synflood)

    p = sub.add_parser("exchange")
    p.add_argument("--netns", required=True)
    p.add_argument("--kind", required=True, choices=("http", "hold", "redis", "udp", "ping"))
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--path", default="/healthz")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--id", type=int, default=0)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--portfile")
    p.set_defaults(fn=cmd_exchange)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
