#!/usr/bin/env bash
# Build kafka-chaos/kafka:<version> without any container registry: the base is debootstrapped
# from the machine's Debian mirror, Kafka's jars come from Maven Central via mvn.
#
#   docker/build-image.sh [--force] [KAFKA_VERSION]     (default version: docker/KAFKA_VERSION)
#
# The Kafka image is built only if missing (--force rebuilds it). The base image
# kafka-chaos/jre:bookworm is built only if missing; `docker rmi` it to rebuild it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
base_image=kafka-chaos/jre:$suite
# The engine here has no BuildKit worth relying on (and no registry for its frontend image).
export DOCKER_BUILDKIT=0

log() { echo "build-image: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

force=0 version=
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) [ -z "$version" ] || die "one version only"; version=$arg ;;
  esac
done
version=${version:-$(tr -d '[:space:]' <"$here/KAFKA_VERSION")}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad version '$version'"
# Kafka's poms leave the logging backend to the distribution, and it changed in 4.0.
case ${version%%.*} in
  3) log_profile=reload4j ;;
  4) log_profile=log4j2 ;;
  *) die "only Kafka 3.x and 4.x are supported, not $version" ;;
esac
image=kafka-chaos/kafka:$version

# Otherwise every "image missing" below would really be "engine down".
docker info >/dev/null 2>&1 || die "no Docker engine answers (try scripts/ensure-docker.sh)"
if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  log "$image already exists (use --force to rebuild)"
  exit 0
fi

# The Debian mirror this machine's apt already uses: prefer an entry for $suite itself (not
# -security/-updates), else the first URIs:/deb line anywhere. Never a hard-coded host.
apt_mirror() {
  local files=() f m
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || die "no apt sources found in /etc/apt"
  m=$(awk -v s="$suite" '
    function flush() { if (ok && uri != "" && !off) { print uri; found = 1; exit } ok = 0; uri = ""; off = 0 }
    FNR == 1 || /^[ \t]*$/ { flush() }
    /^URIs:/ { uri = $2 }
    /^Enabled:[ \t]*no/ { off = 1 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
    /^deb[ \t]/ { sub(/\[[^]]*\]/, ""); if ($3 == s) { print $2; found = 1; exit } }
    END { if (!found) flush() }' "${files[@]}")
  [ -n "$m" ] || m=$(awk '/^URIs:/ { print $2; exit }
      /^deb[ \t]/ { sub(/\[[^]]*\]/, ""); print $2; exit }' "${files[@]}")
  [ -n "$m" ] || die "no Debian mirror found in ${files[*]}"
  echo "$m"
}

# debootstrap mounts /proc and /sys inside the target: unmount before deleting, and never let
# rm cross into another filesystem if an unmount failed.
rootfs=
drop_rootfs() {
  [ -n "$rootfs" ] || return 0
  awk -v d="$rootfs/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$rootfs" "$rootfs.log"
  rootfs=
}

build_base() {
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq debootstrap >/dev/null
  }
  local mirror jvm
  mirror=$(apt_mirror)
  rootfs=$(mktemp -d /var/tmp/kafka-chaos-rootfs.XXXXXX)
  trap drop_rootfs EXIT
  log "debootstrap $suite from $mirror into $rootfs"
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,iproute2,procps \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed"; }
  # Nothing in the image reads these; they are a good share of a minbase rootfs.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/usr/share/lintian "$rootfs"/tmp/*
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  # A JRE never reads ct.sym (javac --release data); the no-compressed-oops CDS archive only
  # serves heaps over 32 GB.
  rm -f "$rootfs"/usr/lib/jvm/java-17-openjdk-*/lib/ct.sym \
    "$rootfs"/usr/lib/jvm/java-17-openjdk-*/lib/server/classes_nocoops.jsa
  jvm=$(cd "$rootfs" && ls -d usr/lib/jvm/java-17-openjdk-*)
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV JAVA_HOME=/$jvm" --change "ENV LANG=C.UTF-8" \
    --change 'CMD ["/bin/bash"]' - "$base_image" >/dev/null
  drop_rootfs
  trap - EXIT
}

t0=$(now) t=$(now)
if docker image inspect "$base_image" >/dev/null 2>&1; then
  log "base image: $base_image exists"
else
  build_base
  log "base image: $base_image built in $(took "$t")"
fi

ctx=$here/build/$version
t=$(now)
rm -rf "$ctx"
mkdir -p "$ctx/libs" "$ctx/bin" "$ctx/config"
# Output only on failure (Debian's Maven 3.8 prints stray ANSI resets even with -q -B).
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -Dkafka.version="$version" \
  -P"$log_profile" -DincludeScope=runtime -DoutputDirectory="$ctx/libs" >"$ctx/mvn.log" 2>&1 ||
  { cat "$ctx/mvn.log" >&2; die "mvn could not fetch Kafka $version"; }
rm "$ctx/mvn.log"
log "jars: $(ls "$ctx/libs" | wc -l) fetched in $(took "$t")"

# Build context: jars, the logging config of this major version, entrypoint, tool wrappers.
cp "$here/entrypoint.sh" "$ctx/"
cp "$here/config/default-server.properties" "$ctx/config/"
if [ "$log_profile" = log4j2 ]; then
  cp "$here/config/log4j2.properties" "$here/config/tools-log4j2.properties" "$ctx/config/"
else
  cp "$here/config/log4j.properties" "$here/config/tools-log4j.properties" "$ctx/config/"
fi
cp "$here/bin/kafka-run-class.sh" "$ctx/bin/"
# Kafka moved tools between packages across 3.x; take the first class the jars actually have,
# so bin/ offers the same commands as the official image's for every version.
for j in "$ctx"/libs/kafka*.jar; do unzip -Z1 "$j"; done >"$ctx/classes.txt"
while read -r script classes; do
  main=
  for c in $classes; do
    if grep -qxF "${c//.//}.class" "$ctx/classes.txt"; then main=$c; break; fi
  done
  [ -n "$main" ] || die "none of [$classes] in Kafka $version jars (for $script)"
  printf '#!/bin/sh\n# Generated by build-image.sh, like Kafka'"'"'s own bin/%s.\nexec "$(dirname "$0")/kafka-run-class.sh" %s "$@"\n' \
    "$script" "$main" >"$ctx/bin/$script"
done <<'EOF'
kafka-topics.sh org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand
kafka-metadata-quorum.sh org.apache.kafka.tools.MetadataQuorumCommand
kafka-producer-perf-test.sh org.apache.kafka.tools.ProducerPerformance
kafka-consumer-perf-test.sh org.apache.kafka.tools.ConsumerPerformance kafka.tools.ConsumerPerformance
kafka-storage.sh kafka.tools.StorageTool
kafka-configs.sh org.apache.kafka.tools.ConfigCommand kafka.admin.ConfigCommand
kafka-features.sh org.apache.kafka.tools.FeatureCommand
kafka-get-offsets.sh org.apache.kafka.tools.GetOffsetShell kafka.tools.GetOffsetShell
kafka-consumer-groups.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand
kafka-console-producer.sh org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer
kafka-console-consumer.sh org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer
EOF
rm "$ctx/classes.txt"
chmod 755 "$ctx"/bin/*.sh "$ctx/entrypoint.sh"

t=$(now)
docker build -f "$here/Dockerfile" --build-arg KAFKA_VERSION="$version" -t "$image" "$ctx" \
  >"$ctx.docker-build.log" 2>&1 || { cat "$ctx.docker-build.log" >&2; die "docker build failed"; }
log "docker build: $image in $(took "$t")"
size=$(docker image inspect -f '{{.Size}}' "$image")
log "image size: $image $((size / 1000000)) MB (base $(( $(docker image inspect -f '{{.Size}}' "$base_image") / 1000000 )) MB)"
log "total: $(took "$t0")"
