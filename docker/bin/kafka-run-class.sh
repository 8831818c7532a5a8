#!/bin/bash
# Stand-in for Kafka's bin/kafka-run-class.sh: run CLASS on the broker's jars. Like Kafka's, it
# logs as a tool (WARN and up, to stderr) so tools' stdout stays parseable, and honours
# KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS and
# KAFKA_TOOLS_LOG4J_LOGLEVEL. JMX options are left out: a tool run inside a broker's container
# would collide with the broker's JMX port.
set -euo pipefail
set -f # options are word-split, never globbed
[ $# -ge 1 ] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
home=/opt/kafka
main=$1
shift
if [ -f "$home/config/tools-log4j2.properties" ]; then
  log="-Dlog4j2.configurationFile=$home/config/tools-log4j2.properties"
else
  log="-Dlog4j.configuration=file:$home/config/tools-log4j.properties"
fi
# AppCDS archive of a tool run, recorded at image build (see Dockerfile): about halves a tool's
# start. Admin tools are short-lived, so C1 alone starts them faster still; the perf tools keep C2.
cds=
if [ -n "${CDS_ARCHIVE_DUMP-}" ]; then cds=-XX:ArchiveClassesAtExit=$home/tools.jsa
elif [ -f "$home/tools.jsa" ]; then cds=-XX:SharedArchiveFile=$home/tools.jsa; fi
case $main in *Performance) jit= ;; *) jit=-XX:TieredStopAtLevel=1 ;; esac
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true $jit} \
  ${KAFKA_LOG4J_OPTS:-$log} -Dkafka.tools.loglevel="${KAFKA_TOOLS_LOG4J_LOGLEVEL:-WARN}" $cds \
  -cp "$home/libs/*" ${KAFKA_OPTS-} "$main" "$@"
