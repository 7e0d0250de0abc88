#!/usr/bin/env bash
# Installs every Debian 12 package quorate needs to build, test and run its demo.
# Idempotent: skips apt when everything is already installed. Needs root.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
  libmongoc-dev libbson-dev libcurl4-openssl-dev libssl-dev libuv1-dev
  libcmocka-dev libjansson-dev libfyaml-dev libsystemd-dev libmicrohttpd-dev)
TEST_PKGS=(docker.io python3 python3-mockupdb python3-pymongo prometheus-node-exporter
  iproute2 nftables util-linux e2fsprogs procps psmisc curl jq valgrind
  prometheus-alertmanager python3-zmq etcd-server etcd-client)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--build-only" ] || want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services (docker, node-exporter) on the host:
# the tests start exactly what they need, by PID.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1
fi
trap '[ $own_policy = 1 ] && rm -f "$policy"' EXIT
stamp=/var/lib/apt/periodic/quorate-update-stamp
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
