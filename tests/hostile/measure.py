#!/usr/bin/env python3
"""Runs one command under limits and reports what it cost.

    measure.py [--timeout S] [--stdin-gen SPEC] [--stdin FILE] [--out FILE] [--err FILE] -- CMD...

Prints one line of JSON: {"rc": exit status (negative: killed by that signal; "timeout"),
"seconds": wall time, "maxrss_kb": peak resident memory of the command, "fed": bytes written
to its stdin}. stdout and stderr of the command go to --out / --err (default: discarded).

--stdin-gen streams generated input into the command's stdin without storing it, and stops
when the command stops reading (EPIPE). SPEC is one of
    big-scalar:N      one YAML document: a mapping whose one value is N bytes of 'a'
    big-seq:N         one YAML document: a list of short items, N bytes in all
    many-docs:N       small policy documents, N bytes in all
"""
import json
import os
import resource
import subprocess
import sys
import threading
import time

POLICY = (b"---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
          b"  name: p\n  namespace: default\nspec:\n  endpointSelector: {}\n"
          b"  ingress:\n  - fromEntities: [cluster]\n")


def generator(spec):
    kind, _, n = spec.partition(":")
    total = int(n)
    chunk = 1 << 20
    if kind == "big-scalar":
        yield b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: "
        block = b"a" * chunk
    elif kind == "big-seq":
        yield b"apiVersion: v1\nkind: List\nitems:\n"
        block = b"- item\n" * (chunk // 7)
    elif kind == "many-docs":
        block = POLICY * (chunk // len(POLICY))
    else:
        raise SystemExit("measure.py: unknown --stdin-gen " + spec)
    sent = 0
    while sent < total:
        piece = block[: min(len(block), total - sent)]
        sent += len(piece)
        yield piece


def main():
    args = sys.argv[1:]
    timeout, gen, stdin_file, out, err = 60.0, None, None, os.devnull, os.devnull
    while args and args[0] != "--":
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "--timeout":
            timeout = float(val)
        elif opt == "--stdin-gen":
            gen = val
        elif opt == "--stdin":
            stdin_file = val
        elif opt == "--out":
            out = val
        elif opt == "--err":
            err = val
        else:
            raise SystemExit("measure.py: unknown option " + opt)
    cmd = args[1:]
    t0 = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        stdin = subprocess.PIPE if gen else (open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL)
        p = subprocess.Popen(cmd, stdin=stdin, stdout=fo, stderr=fe)
        fed = [0]
        timed_out = False

        def feed():
            try:
                for piece in generator(gen):
                    p.stdin.write(piece)
                    fed[0] += len(piece)
                p.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass

        writer = threading.Thread(target=feed, daemon=True) if gen else None
        if writer:
            writer.start()
        try:
            p.wait(timeout=max(0.1, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            timed_out = True
            p.kill()
            p.wait()
    if writer:
        writer.join(timeout=5)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": "timeout" if timed_out else p.returncode,
                      "seconds": round(time.monotonic() - t0, 2),
                      "maxrss_kb": usage.ru_maxrss, "fed": fed[0]}))


if __name__ == "__main__":
    main()
