#!/usr/bin/env bash
# Install what building the bundled librdkafka (rdkafka's default build runs configure and make)
# and the Go and Java workers need, only when something is missing. Debian package names; root or sudo required to install.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v make >/dev/null 2>&1 || need+=(make)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
# The workers of the other clients: Go for sarama (a newer toolchain, if go.mod asks for one,
# comes from the Go proxy), a JDK and Maven for kafka-clients.
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "ensure-build-deps: installing ${need[*]}" >&2
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
