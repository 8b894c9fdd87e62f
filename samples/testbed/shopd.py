#!/usr/bin/python3
"""The shop's services, one role per process, run inside a pod's netns.

  shopd.py ROLE --pod NS/NAME --log FILE

ROLE is one of: frontend catalog cart payments world statsd.

Every server listens on one dual-stack socket ([::], IPV6_V6ONLY off) so it
answers over IPv4 and IPv6, and writes one line per request to its log:

  2024-05-01T10:00:00.123Z peer=10.244.2.12 GET /api/products/123 200 4ms

When a service calls another one it reports the outcome of that call (a
"hop") in its JSON answer, under "calls", so the traffic generator can tell
which flows worked.  Calls go out over the address family the request came
in on, so an IPv6 request exercises IPv6 all the way down.
Python 3 standard library only.
"""

import argparse
import http.client
import http.server
import json
import os
import random
import re
import socket
import socketserver
import sys
import threading
import time

STATSD = ("statsd.shop-data.svc.cluster.local", 8125)
CATALOG = ("catalog.shop-api.svc.cluster.local", 8080)
CART = ("cart.shop-api.svc.cluster.local", 8080)
PAYMENTS = ("payments.shop-api.svc.cluster.local", 8080)
REDIS = ("redis.shop-data.svc.cluster.local", 6379)
PARTNER_API = ("api.partner.example", 80)
PARTNER_CDN = ("cdn.partner.example", 80)

# A blocked call must fail fast, not hang its caller: connecting (or a UDP
# round trip) gets 1.5 s.  An answer may take longer once connected, since
# the callee may be waiting on its own calls.
CONNECT_TIMEOUT = 1.5
READ_TIMEOUT = 5.0


class Log:
    """Append-only request log shared by the server threads."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def line(self, peer, what):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)
        with self.lock:
            self.f.write("%s peer=%s %s\n" % (stamp, peer, what))


def plain_peer(addr):
    """'::ffff:10.1.2.3' -> '10.1.2.3' (IPv4 clients on a dual-stack socket)."""
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def hostport(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


def family_of(addr):
    return 4 if "." in plain_peer(addr) else 6


def resolve(host, port, family, kind=socket.SOCK_STREAM):
    """All addresses of host in one family, shuffled like a client-side balancer."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    infos = socket.getaddrinfo(host, port, af, kind)
    addrs = list(dict.fromkeys(i[4][0] for i in infos))
    random.shuffle(addrs)
    return addrs


class Hop(dict):
    """One outgoing call and how it went."""

    def __init__(self, flow, src, family, dest):
        super().__init__(flow=flow, src=src, family=family, dest=dest, ok=False, error="")
        self.t0 = time.monotonic()

    def done(self, ok, error=""):
        self["ok"] = ok
        self["error"] = error
        self["ms"] = int((time.monotonic() - self.t0) * 1000)
        return self


def http_call(flow, src, family, target, method, path, body=None, read_timeout=READ_TIMEOUT):
    """Call target=(name, port) over one family.  Returns (hop, status, data, calls)."""
    host, port = target
    hop = Hop(flow, src, family, "%s:%d" % (host, port))
    try:
        addr = resolve(host, port, family)[0]
        hop["dest"] = hostport(addr, port)
        conn = http.client.HTTPConnection(addr, port, timeout=CONNECT_TIMEOUT)
        conn.connect()
        conn.sock.settimeout(read_timeout)
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Host": host if port == 80 else "%s:%d" % (host, port),
                   "User-Agent": "shop/%s" % src.split("/")[-1]}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            data = json.loads(raw.decode() or "{}")
        except ValueError:
            data = {}
        calls = data.pop("calls", []) if isinstance(data, dict) else []
        hop.done(200 <= resp.status < 300, "" if resp.status < 300 else "HTTP %d" % resp.status)
        return hop, resp.status, data, calls
    except (OSError, http.client.HTTPException) as e:
        return hop.done(False, describe(e)), 0, {}, []


def describe(e):
    if isinstance(e, socket.gaierror):
        return "resolve: %s" % e.strerror
    if isinstance(e, socket.timeout):
        return "timeout"
    return "%s: %s" % (type(e).__name__, getattr(e, "strerror", None) or e)


def statsd_send(flow, src, family, metric):
    """One statsd datagram.  Our collector acks it, so a drop shows as a timeout."""
    host, port = STATSD
    hop = Hop(flow, src, family, "%s:%d" % STATSD)
    try:
        addr = resolve(host, port, family, socket.SOCK_DGRAM)[0]
        hop["dest"] = hostport(addr, port)
        with socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6,
                           socket.SOCK_DGRAM) as s:
            s.settimeout(CONNECT_TIMEOUT)
            s.sendto(metric.encode(), (addr, port))
            reply, _ = s.recvfrom(512)
        return hop.done(reply.startswith(b"ack"))
    except OSError as e:
        return hop.done(False, describe(e))


def redis_command(flow, src, family, *args):
    """Send one command in RESP, read one reply line.  Returns (hop, reply)."""
    host, port = REDIS
    hop = Hop(flow, src, family, "%s:%d" % REDIS)
    try:
        addr = resolve(host, port, family)[0]
        hop["dest"] = hostport(addr, port)
        with socket.create_connection((addr, port), timeout=CONNECT_TIMEOUT) as s:
            s.sendall(resp_encode(args))
            reply = resp_read(s.makefile("rb"))
        return hop.done(not isinstance(reply, RedisError), str(reply) if isinstance(reply, RedisError) else ""), reply
    except (OSError, ValueError) as e:
        return hop.done(False, describe(e)), None


class RedisError(str):
    pass


def resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def resp_read(f):
    """Minimal RESP2 reader: enough for status, error, integer, bulk and arrays."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ValueError("short reply")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        return RedisError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise ValueError("bad reply %r" % line)


# ------------------------------------------------------------ HTTP server


class DualStackServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes requests to the role's methods by regex; logs each request."""

    server_version = "shop"
    sys_version = ""
    protocol_version = "HTTP/1.0"
    app = None  # set by main(): the role object

    def log_message(self, fmt, *args):  # our own log line replaces this
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def dispatch(self, method):
        t0 = time.monotonic()
        peer = plain_peer(self.client_address[0])
        path = self.path.split("?", 1)[0]
        status, data = 404, {"error": "not found"}
        try:
            body = self.read_body()
            for m, pattern, fn in self.app.routes():
                match = re.fullmatch(pattern, path)
                if m == method and match:
                    status, data = fn(self, family_of(self.client_address[0]), body, *match.groups())
                    break
        except Exception as e:  # a bug must show as a 500, not a dead thread
            status, data = 500, {"error": describe(e)}
        self.reply(status, data)
        self.app.log.line(peer, "%s %s %d %dms host=%s" % (
            method, self.path, status, (time.monotonic() - t0) * 1000,
            self.headers.get("Host", "-")))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if not n:
            return {}
        try:
            return json.loads(self.rfile.read(n).decode())
        except ValueError:
            return {}

    def reply(self, status, data):
        if isinstance(data, (bytes, bytearray)):
            raw, ctype = bytes(data), "application/octet-stream"
        else:
            raw, ctype = (json.dumps(data) + "\n").encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)


class Role:
    def __init__(self, pod, log):
        self.pod = pod  # "ns/name"
        self.src = pod.rsplit("-", 2)[0]  # "ns/app": what flows are named after
        self.log = log

    def healthz(self, h, fam, body):
        return 200, {"status": "ok", "pod": self.pod}

    def routes(self):
        return [("GET", r"/healthz", self.healthz)] + self.more_routes()

    def more_routes(self):
        return []

    @staticmethod
    def answer(calls, data):
        """200 if every call worked, else 502; the calls travel up with the data."""
        data["calls"] = calls
        return (200 if all(c["ok"] for c in calls) else 502), data


class Frontend(Role):
    """The storefront: each page calls catalog, cart and payments."""

    def more_routes(self):
        return [
            ("GET", r"/", self.home),
            ("GET", r"/products/(\d+)", self.product),
            ("POST", r"/cart/items", self.add_item),
            ("GET", r"/cart/([\w-]+)", self.view_cart),
            ("POST", r"/checkout", self.checkout),
        ]

    def call(self, calls, fam, flow, target, method, path, body=None):
        hop, status, data, sub = http_call(flow, self.src, fam, target, method, path, body)
        calls.append(hop)
        calls.extend(sub)
        return data

    def finish(self, calls, fam, page, data):
        calls.append(statsd_send("metrics", self.src, fam, "shop.frontend.page.%s:1|c" % page))
        return self.answer(calls, data)

    def home(self, h, fam, body):
        calls = []
        data = self.call(calls, fam, "catalog-api", CATALOG, "GET", "/api/products?limit=3")
        return self.finish(calls, fam, "home", {"pod": self.pod, "featured": data.get("products", [])})

    def product(self, h, fam, body, pid):
        calls = []
        data = self.call(calls, fam, "catalog-api", CATALOG, "GET", "/api/products/%s" % pid)
        return self.finish(calls, fam, "product", {"pod": self.pod, "product": data})

    def add_item(self, h, fam, body):
        calls = []
        data = self.call(calls, fam, "cart-api", CART, "POST", "/api/cart/items", body)
        return self.finish(calls, fam, "add_item", {"pod": self.pod, "cart": data})

    def view_cart(self, h, fam, body, user):
        calls = []
        data = self.call(calls, fam, "cart-api", CART, "GET", "/api/cart/%s" % user)
        return self.finish(calls, fam, "cart", {"pod": self.pod, "cart": data})

    def checkout(self, h, fam, body):
        calls = []
        user = body.get("user", "guest")
        cart = self.call(calls, fam, "cart-api", CART, "GET", "/api/cart/%s" % user)
        amount = sum(int(q) * 5 for q in (cart.get("items") or {}).values()) or 5
        pay = self.call(calls, fam, "payments-api", PAYMENTS, "POST", "/api/payments",
                        {"user": user, "amount": amount})
        return self.finish(calls, fam, "checkout", {"pod": self.pod, "payment": pay})


class Catalog(Role):
    """Products are made up from their id; each lookup checks the image on the CDN."""

    def more_routes(self):
        return [("GET", r"/api/products", self.list), ("GET", r"/api/products/(\d+)", self.get)]

    @staticmethod
    def product(pid):
        pid = int(pid)
        return {"id": pid, "name": "Product %d" % pid, "price_cents": 500 + pid % 97 * 25,
                "image": "http://cdn.partner.example/images/%d.jpg" % pid}

    def list(self, h, fam, body):
        return 200, {"products": [self.product(i) for i in (101, 202, 303)]}

    def get(self, h, fam, body, pid):
        hop, status, _data, sub = http_call("cdn", self.src, fam, PARTNER_CDN, "HEAD",
                                            "/images/%s.jpg" % pid)
        return self.answer([hop] + sub, self.product(pid))


class Cart(Role):
    """Carts live in redis as hashes: cart:<user> -> {product_id: qty}."""

    def more_routes(self):
        return [("POST", r"/api/cart/items", self.add), ("GET", r"/api/cart/([\w-]+)", self.get)]

    def add(self, h, fam, body):
        user, pid, qty = body.get("user", "guest"), body.get("product_id", 1), body.get("qty", 1)
        hop, reply = redis_command("cart-redis", self.src, fam, "HINCRBY", "cart:%s" % user, pid, qty)
        calls = [hop, statsd_send("metrics", self.src, fam, "shop.cart.items_added:%s|c" % qty)]
        return self.answer(calls, {"user": user, "product_id": pid, "qty": reply})

    def get(self, h, fam, body, user):
        hop, reply = redis_command("cart-redis", self.src, fam, "HGETALL", "cart:%s" % user)
        items = dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else {}
        return self.answer([hop], {"user": user, "items": items})


class Payments(Role):
    """Charges go to the partner's API out in the world, by DNS name."""

    def more_routes(self):
        return [("POST", r"/api/payments", self.pay)]

    def pay(self, h, fam, body):
        hop, status, data, sub = http_call("partner-api", self.src, fam, PARTNER_API, "POST",
                                           "/v1/charges", {"amount": body.get("amount", 0),
                                                           "currency": "eur"})
        return self.answer([hop] + sub, {"status": "approved" if hop["ok"] else "error",
                                         "charge": data.get("id")})


class World(Role):
    """The partner's servers: one HTTP server behind api. and cdn.partner.example."""

    def more_routes(self):
        return [("POST", r"/v1/charges", self.charge), ("GET", r"/images/(\d+)\.jpg", self.image),
                ("HEAD", r"/images/(\d+)\.jpg", self.image), ("GET", r"/", self.index)]

    def charge(self, h, fam, body):
        return 200, {"id": "ch_%08x" % random.getrandbits(32), "status": "succeeded",
                     "amount": body.get("amount", 0)}

    def image(self, h, fam, body, pid):
        return 200, b"\xff\xd8\xff\xe0" + b"\0" * 60

    def index(self, h, fam, body):
        return 200, {"host": h.headers.get("Host", ""), "served_by": "world"}


def serve_http(role, port):
    Handler.app = role
    DualStackServer(("::", port), Handler).serve_forever()


def serve_statsd(role, port):
    """statsd-style UDP collector that acks each datagram (a testbed extension:
    real statsd is silent, but then a sender could not tell delivered from dropped)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, addr = s.recvfrom(2048)
        text = data.decode(errors="replace").strip()
        role.log.line(plain_peer(addr[0]), "UDP %s" % text)
        s.sendto(b"ack " + data[:64], addr)


ROLES = {"frontend": (Frontend, 8080), "catalog": (Catalog, 8080), "cart": (Cart, 8080),
         "payments": (Payments, 8080), "world": (World, 80), "statsd": (Role, 8125)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("role", choices=sorted(ROLES))
    ap.add_argument("--pod", required=True, help="ns/name of the pod this runs in")
    ap.add_argument("--log", required=True, help="request log file")
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    cls, port = ROLES[args.role]
    role = cls(args.pod, Log(args.log))
    sys.stderr.write("shopd %s for %s on port %d, pid %d\n"
                     % (args.role, args.pod, args.port or port, os.getpid()))
    if args.role == "statsd":
        serve_statsd(role, args.port or port)
    else:
        serve_http(role, args.port or port)


if __name__ == "__main__":
    main()
