#!/bin/sh
# Installs the Debian 12 packages that polc needs to build, test and run its demo.
# Safe to run more than once. Must run as root.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (it calls apt-get)" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
BUILD="build-essential autoconf automake pkgconf git
	libyaml-dev libbpf-dev libpcre2-dev libpcap-dev libcunit1-dev uthash-dev
	clang llvm libclang-rt-14-dev linux-libc-dev bpftool"
TEST="iproute2 iputils-ping procps psmisc tcpdump valgrind jq
	python3 curl netcat-openbsd socat dnsmasq-base redis-server redis-tools graphviz
	iperf3 ipset iptables gnuplot-nox"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $BUILD $TEST >/dev/null
echo "install-deps: done"
