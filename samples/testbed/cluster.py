#!/usr/bin/python3
"""The testbed cluster as data: nodes, pods, services, names and addresses.

This is the one place the topology is written down.  polc-testbed reads the
flat tables it prints (`pods`, `nodes`, `dns-args`, ...), the services and the
traffic generator import it, and `inventory` prints it the way
`kubectl get pods,namespaces,nodes,services,endpointslices -A -o yaml` would.

Everything here is constant: the same input gives the same addresses, names,
uids and YAML on every run.  Python 3 standard library only.
"""

import os
import re
import sys
import uuid

CLUSTER_DOMAIN = "cluster.local"
NETNS_PREFIX = "ptb-"
# Fixed creation time so that the inventory never changes between runs.
CREATED = "2024-05-01T10:00:00Z"
K8S_VERSION = "v1.29.4"

# The underlay: both nodes and the world host hang off one bridge.
UNDERLAY4 = "172.18.0.0/24"
UNDERLAY6 = "fd00:172:18::/64"


class Node:
    def __init__(self, name, index):
        self.name = name
        self.index = index
        self.netns = NETNS_PREFIX + name
        self.ip4 = "172.18.0.%d" % (10 + index)
        self.ip6 = "fd00:172:18::%d" % (10 + index)
        self.pod_cidr4 = "10.244.%d.0/24" % index
        self.pod_cidr6 = "fd00:10:244:%d::/64" % index
        # Gateway the pods on this node route through (same on every lxc veth).
        self.gw4 = "10.244.%d.1" % index
        self.gw6 = "fe80::1"


NODES = [Node("worker1", 1), Node("worker2", 2)]
NODE_BY_NAME = {n.name: n for n in NODES}

# The "external world": a host on the underlay with "public" addresses on its
# loopback.  They are private ranges too: nothing ever leaves the testbed.
WORLD = {
    "name": "world",
    "netns": NETNS_PREFIX + "world",
    "ip4": "172.18.0.100",
    "ip6": "fd00:172:18::100",
    "external4": "172.20.0.0/24",
    "external6": "fd00:172:20::/64",
    # DNS name -> (IPv4, IPv6).  All served by the same HTTP server.
    "names": {
        "api.partner.example": ("172.20.0.10", "fd00:172:20::10"),
        "cdn.partner.example": ("172.20.0.11", "fd00:172:20::11"),
    },
    # An address no DNS name points to: calling it is a "rogue" flow.
    "unnamed": ("172.20.0.66", "fd00:172:20::66"),
}

FABRIC_NETNS = NETNS_PREFIX + "fabric"


class App:
    """What a Deployment of the shop looks like: the same for each replica."""

    def __init__(self, name, namespace, team, role, ports, image, extra_labels=None):
        self.name = name
        self.namespace = namespace
        self.team = team
        self.role = role  # which program polc-testbed starts in the pod
        self.ports = ports  # [(name, port, protocol)]
        self.image = image
        self.extra_labels = extra_labels or {}
        self.service_account = name


APPS = {
    a.name: a
    for a in [
        App("coredns", "kube-system", "platform", "dns",
            [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
            "registry.k8s.io/coredns/coredns:v1.11.1", {"k8s-app": "kube-dns"}),
        App("frontend", "shop-web", "storefront", "frontend",
            [("http", 8080, "TCP")], "registry.example/shop/frontend:1.4.2"),
        App("loadgen", "shop-web", "qa", "client", [],
            "registry.example/shop/loadgen:0.9.0"),
        App("catalog", "shop-api", "catalog", "catalog",
            [("http", 8080, "TCP")], "registry.example/shop/catalog:2.1.0"),
        App("cart", "shop-api", "checkout", "cart",
            [("http", 8080, "TCP")], "registry.example/shop/cart:1.7.3"),
        App("payments", "shop-api", "checkout", "payments",
            [("http", 8080, "TCP")], "registry.example/shop/payments:3.0.1"),
        App("redis", "shop-data", "checkout", "redis",
            [("redis", 6379, "TCP")], "docker.io/library/redis:7.0.15"),
        App("statsd", "shop-data", "observability", "statsd",
            [("statsd", 8125, "UDP")], "registry.example/shop/statsd:1.0.0"),
    ]
}


class Pod:
    def __init__(self, app, template_hash, suffix, node, host):
        self.app = APPS[app]
        self.namespace = self.app.namespace
        self.template_hash = template_hash
        self.replicaset = "%s-%s" % (app, template_hash)
        self.name = "%s-%s" % (self.replicaset, suffix)
        self.node = NODE_BY_NAME[node]
        self.ip4 = "10.244.%d.%d" % (self.node.index, host)
        self.ip6 = "fd00:10:244:%d::%d" % (self.node.index, host)
        self.netns = NETNS_PREFIX + self.name
        # Host side of the pod's veth, inside the node netns (like Cilium's lxc*).
        self.host_veth = "lxc-" + app
        self.mac = "0a:58:0a:f4:%02x:%02x" % (self.node.index, host)
        self.host_mac = "0a:59:0a:f4:%02x:%02x" % (self.node.index, host)

    @property
    def labels(self):
        labels = {
            "app.kubernetes.io/name": self.app.name,
            "pod-template-hash": self.template_hash,
            "team": self.app.team,
        }
        if self.namespace.startswith("shop-"):
            labels["app.kubernetes.io/part-of"] = "shop"
        labels.update(self.app.extra_labels)
        return labels


# host = last octet (IPv4) / last group (IPv6) of the pod address.
PODS = [
    Pod("coredns", "5d78c9869d", "8qzv4", "worker1", 10),
    Pod("frontend", "6c8f9b7d54", "h4x2k", "worker1", 11),
    Pod("catalog", "5f8d7c9b46", "z8k3v", "worker1", 12),
    Pod("payments", "59d6b8f7c4", "g3v6n", "worker1", 13),
    Pod("redis", "6b5d8c9f7b", "x4k8m", "worker1", 14),
    Pod("frontend", "6c8f9b7d54", "q9m7w", "worker2", 11),
    Pod("loadgen", "7b8c6d5f49", "t2n8p", "worker2", 12),
    Pod("catalog", "5f8d7c9b46", "w5r9j", "worker2", 13),
    Pod("cart", "84b9c7d6f5", "p7l2s", "worker2", 14),
    Pod("statsd", "7c9f6b8d5c", "n6j4r", "worker2", 15),
]

NAMESPACES = {
    "default": {},
    "kube-system": {},
    "shop-web": {"app.kubernetes.io/part-of": "shop", "team": "storefront"},
    "shop-api": {"app.kubernetes.io/part-of": "shop", "team": "checkout"},
    "shop-data": {"app.kubernetes.io/part-of": "shop", "team": "checkout"},
}


class Service:
    """A ClusterIP service.  The VIP is in the inventory only: nothing in the
    testbed programs it, and DNS answers with the endpoints' pod IPs."""

    def __init__(self, name, namespace, ip_index, ports, selector):
        self.name = name
        self.namespace = namespace
        self.cluster_ip4 = "10.96.%d.%d" % (ip_index // 256, ip_index % 256)
        self.cluster_ip6 = "fd00:10:96::%x" % ip_index
        self.ports = ports  # [(name, port, targetPort name, protocol)]
        self.selector = selector

    @property
    def fqdn(self):
        return "%s.%s.svc.%s" % (self.name, self.namespace, CLUSTER_DOMAIN)

    def endpoints(self):
        return [p for p in PODS if p.namespace == self.namespace
                and all(p.labels.get(k) == v for k, v in self.selector.items())]


def _app_service(app, ip_index):
    a = APPS[app]
    return Service(app, a.namespace, ip_index,
                   [(n, port, n, proto) for n, port, proto in a.ports],
                   {"app.kubernetes.io/name": app})


SERVICES = [
    Service("kube-dns", "kube-system", 10,
            [("dns", 53, "dns", "UDP"), ("dns-tcp", 53, "dns-tcp", "TCP")],
            {"k8s-app": "kube-dns"}),
    _app_service("frontend", 266),
    _app_service("catalog", 522),
    _app_service("cart", 532),
    _app_service("payments", 542),
    _app_service("redis", 778),
    _app_service("statsd", 788),
]


def find_pod(spec):
    """POD as "ns/name", "name", or an unambiguous prefix of a name."""
    ns, _, name = spec.rpartition("/")
    cands = [p for p in PODS if (not ns or p.namespace == ns)]
    exact = [p for p in cands if p.name == name]
    if exact:
        return exact
    return [p for p in cands if p.name.startswith(name)]


def pods_of(app):
    return [p for p in PODS if p.app.name == app]


def dns_pod():
    return pods_of("coredns")[0]


# --------------------------------------------------------------- dnsmasq


def dns_records():
    """(name, [ipv4...], [ipv6...]) for every name kube-dns answers."""
    recs = []
    for s in SERVICES:
        eps = s.endpoints()
        recs.append((s.fqdn, [p.ip4 for p in eps], [p.ip6 for p in eps]))
    for name, (v4, v6) in sorted(WORLD["names"].items()):
        recs.append((name, [v4], [v6]))
    return recs


def dns_args():
    """dnsmasq options: authoritative for the cluster and partner names only,
    no upstream, no /etc/hosts, so it can never send a query anywhere."""
    p = dns_pod()
    args = [
        "--no-resolv", "--no-hosts", "--no-poll", "--conf-file=/dev/null",
        "--bind-interfaces", "--listen-address=%s,%s,127.0.0.1" % (p.ip4, p.ip6),
        "--local=/%s/" % CLUSTER_DOMAIN, "--local=/partner.example/",
        "--local-ttl=30", "--log-queries",
    ]
    for name, v4s, v6s in dns_records():
        for i in range(max(len(v4s), len(v6s))):
            addrs = [a[i] for a in (v4s, v6s) if i < len(a)]
            args.append("--host-record=%s,%s" % (name, ",".join(addrs)))
    return args


def resolv_conf(pod):
    """What kubelet would write for a ClusterFirst pod, but pointing at the
    kube-dns pod itself (the service VIP is not programmed)."""
    d = dns_pod()
    search = ["%s.svc.%s" % (pod.namespace, CLUSTER_DOMAIN),
              "svc." + CLUSTER_DOMAIN, CLUSTER_DOMAIN]
    return ("# written by polc-testbed for %s/%s\n"
            "search %s\nnameserver %s\nnameserver %s\n"
            "options ndots:5 timeout:1 attempts:2\n"
            % (pod.namespace, pod.name, " ".join(search), d.ip4, d.ip6))


# -------------------------------------------------------------- YAML out


def _quote_needed(s):
    if s == "" or s != s.strip():
        return True
    if s.lower() in ("true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"):
        return True
    if s[0] in "!&*-?:,[]{}#|>@`\"'%" or ": " in s or " #" in s:
        return True
    try:
        float(s)
        return True
    except ValueError:
        pass
    # Dates and base-60 numbers ("1:20") would be re-typed by a YAML 1.1 reader.
    return bool(re.match(r"^\d{4}-\d\d-\d\d|^[-+]?[0-9_]+(:[0-5]?[0-9])+(\.[0-9_]*)?$", s))


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _quote_needed(s):
        return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')
    return s


def to_yaml(obj, indent=0):
    """kubectl-style YAML: sorted keys, two spaces, '- ' lists not indented
    under their key.  Enough for dicts, lists, strings, ints and bools."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        if not obj:
            return [pad + "{}"]
        for k in sorted(obj):
            v = obj[k]
            if isinstance(v, dict) and v:
                out.append("%s%s:" % (pad, k))
                out.extend(to_yaml(v, indent + 2))
            elif isinstance(v, list) and v:
                out.append("%s%s:" % (pad, k))
                out.extend(to_yaml(v, indent))
            elif isinstance(v, (dict, list)):
                out.append("%s%s: %s" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                out.append("%s%s: %s" % (pad, k, _scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            sub = to_yaml(item, indent + 2)
            sub[0] = pad + "- " + sub[0][indent + 2:]
            out.extend(sub)
    else:
        out.append(pad + _scalar(obj))
    return out


# ------------------------------------------------------------- inventory


def _uid(kind, namespace, name):
    # Deterministic, but shaped like the random uids the API server hands out.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "polc-testbed/%s/%s/%s" % (kind, namespace, name)))


def _meta(kind, name, namespace=None, labels=None, **extra):
    m = {"creationTimestamp": CREATED, "name": name,
         "resourceVersion": str(1000 + sum(map(ord, kind + name)) % 9000),
         "uid": _uid(kind, namespace or "", name)}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    m.update(extra)
    return m


def pod_object(p):
    a = p.app
    owner = {"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
             "kind": "ReplicaSet", "name": p.replicaset,
             "uid": _uid("ReplicaSet", p.namespace, p.replicaset)}
    container = {
        "image": a.image, "imagePullPolicy": "IfNotPresent", "name": a.name,
        "ports": [{"containerPort": port, "name": n, "protocol": proto}
                  for n, port, proto in a.ports],
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": _meta("Pod", p.name, p.namespace, p.labels,
                          generateName=p.replicaset + "-", ownerReferences=[owner]),
        "spec": {
            "containers": [container],
            "dnsPolicy": "Default" if a.name == "coredns" else "ClusterFirst",
            "enableServiceLinks": True,
            "hostNetwork": False,
            "nodeName": p.node.name,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 2000000000 if p.namespace == "kube-system" else 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": a.service_account,
            "serviceAccountName": a.service_account,
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": CREATED,
                            "status": "True", "type": t}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "hostIP": p.node.ip4,
            "hostIPs": [{"ip": p.node.ip4}, {"ip": p.node.ip6}],
            "phase": "Running",
            "podIP": p.ip4,
            "podIPs": [{"ip": p.ip4}, {"ip": p.ip6}],
            "qosClass": "BestEffort",
            "startTime": CREATED,
        },
    }


def namespace_object(name):
    labels = {"kubernetes.io/metadata.name": name}
    labels.update(NAMESPACES[name])
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": _meta("Namespace", name, labels=labels),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}}


def node_object(n):
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n.name,
              "kubernetes.io/os": "linux",
              "topology.kubernetes.io/zone": "zone-%s" % "abc"[n.index - 1]}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta("Node", n.name, labels=labels),
        "spec": {"podCIDR": n.pod_cidr4, "podCIDRs": [n.pod_cidr4, n.pod_cidr6]},
        "status": {
            "addresses": [{"address": n.ip4, "type": "InternalIP"},
                          {"address": n.ip6, "type": "InternalIP"},
                          {"address": n.name, "type": "Hostname"}],
            "conditions": [{"lastHeartbeatTime": CREATED, "lastTransitionTime": CREATED,
                            "message": "kubelet is posting ready status",
                            "reason": "KubeletReady", "status": "True", "type": "Ready"}],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.13",
                         "kubeProxyVersion": K8S_VERSION, "kubeletVersion": K8S_VERSION,
                         "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)"},
        },
    }


def service_object(s):
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta("Service", s.name, s.namespace,
                          {"app.kubernetes.io/name": s.name}
                          if s.namespace != "kube-system" else {"k8s-app": "kube-dns"}),
        "spec": {
            "clusterIP": s.cluster_ip4, "clusterIPs": [s.cluster_ip4, s.cluster_ip6],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack",
            "ports": [{"name": n, "port": port, "protocol": proto, "targetPort": tp}
                      for n, port, tp, proto in s.ports],
            "selector": dict(s.selector),
            "sessionAffinity": "None", "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def endpointslice_objects(s):
    out = []
    for family, attr, suffix in (("IPv4", "ip4", "4"), ("IPv6", "ip6", "6")):
        name = "%s-%s" % (s.name, _uid("EndpointSlice", s.namespace, s.name + family)[:5])
        owner = {"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True,
                 "kind": "Service", "name": s.name, "uid": _uid("Service", s.namespace, s.name)}
        labels = {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                  "kubernetes.io/service-name": s.name}
        out.append({
            "addressType": family,
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": [{
                "addresses": [getattr(p, attr)],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": p.node.name,
                "targetRef": {"kind": "Pod", "name": p.name, "namespace": p.namespace,
                              "uid": _uid("Pod", p.namespace, p.name)},
            } for p in sorted(s.endpoints(), key=lambda p: p.name)],
            "kind": "EndpointSlice",
            "metadata": _meta("EndpointSlice", name, s.namespace, labels,
                              generateName=s.name + "-", ownerReferences=[owner]),
            "ports": [{"name": n, "port": port, "protocol": proto}
                      for n, port, _tp, proto in s.ports],
        })
    return out


def inventory():
    """Items in kubectl's order: by kind as asked for, then namespace/name."""
    items = [pod_object(p) for p in sorted(PODS, key=lambda p: (p.namespace, p.name))]
    items += [namespace_object(n) for n in sorted(NAMESPACES)]
    items += [node_object(n) for n in NODES]
    svcs = sorted(SERVICES, key=lambda s: (s.namespace, s.name))
    items += [service_object(s) for s in svcs]
    slices = [e for s in svcs for e in endpointslice_objects(s)]
    items += sorted(slices, key=lambda e: (e["metadata"]["namespace"], e["metadata"]["name"]))
    doc = {"apiVersion": "v1", "items": items, "kind": "List",
           "metadata": {"resourceVersion": ""}}
    return "\n".join(to_yaml(doc)) + "\n"


# ------------------------------------------------------ tables for bash


def table_pods():
    """One pod a line: netns node ns name app role ip4 ip6 host_veth mac host_mac gw4 ports."""
    for p in PODS:
        ports = ",".join("%d/%s" % (port, proto.lower()) for _n, port, proto in p.app.ports) or "-"
        print(p.netns, p.node.name, p.namespace, p.name, p.app.name, p.app.role,
              p.ip4, p.ip6, p.host_veth, p.mac, p.host_mac, p.node.gw4, ports)


def table_nodes():
    """One node a line: netns name ip4 ip6 cidr4 cidr6 gw4 mac."""
    for n in NODES:
        print(n.netns, n.name, n.ip4, n.ip6, n.pod_cidr4, n.pod_cidr6, n.gw4,
              "0a:5a:ac:12:00:%02x" % (10 + n.index))


def table_world():
    """Key value lines for the world host."""
    print("netns", WORLD["netns"])
    print("ip4", WORLD["ip4"])
    print("ip6", WORLD["ip6"])
    print("mac", "0a:5a:ac:12:00:64")
    print("external4", WORLD["external4"])
    print("external6", WORLD["external6"])
    addrs = [a for pair in WORLD["names"].values() for a in pair] + list(WORLD["unnamed"])
    print("addresses", " ".join(addrs))
    print("fabric", FABRIC_NETNS)


def write_resolv_confs(etc_netns):
    """ETC/<pod netns>/resolv.conf for every pod (ip netns exec mounts it)."""
    for p in PODS:
        os.makedirs(os.path.join(etc_netns, p.netns), exist_ok=True)
        with open(os.path.join(etc_netns, p.netns, "resolv.conf"), "w") as f:
            f.write(resolv_conf(p))


def main(argv):
    cmds = {
        "inventory": lambda: sys.stdout.write(inventory()),
        "pods": table_pods,
        "nodes": table_nodes,
        "world": table_world,
        "dns-args": lambda: print("\n".join(dns_args())),
        "resolv-conf": lambda: sys.stdout.write(resolv_conf(find_pod(argv[2])[0])),
        "write-resolv-confs": lambda: write_resolv_confs(argv[2]),
        "find-pod": lambda: print("\n".join("%s %s/%s" % (p.netns, p.namespace, p.name)
                                            for p in find_pod(argv[2]))),
    }
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write("usage: cluster.py {%s}\n" % "|".join(sorted(cmds)))
        return 2
    cmds[argv[1]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
