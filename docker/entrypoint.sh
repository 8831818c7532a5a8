#!/bin/bash
# Entrypoint of kafka-chaos/kafka. It keeps the environment contract of the official apache/kafka
# image (its docker/resources/common-scripts plus kafka.docker.KafkaDockerWrapper), so the harness
# drives both images the same way, but in bash: no extra JVM just to write a config file.
#   KAFKA_FOO_BAR=v -> foo.bar=v in server.properties ("___" -> "-", "__" -> "_", "_" -> ".")
#   CLUSTER_ID      -> storage is formatted on first start; a restart finds it formatted
# Arguments NAME=VALUE are exported first, as in the official image; any other command is run
# instead of the broker (handy for `docker run --rm IMAGE java -version`).
set -euo pipefail
set -f # *_OPTS are word-split like Kafka's scripts do, but must never be globbed

home=/opt/kafka
conf=$home/config/server.properties
mounted=/mnt/shared/config/server.properties # the official image's optional mount

die() { echo "entrypoint: $*" >&2; exit 1; }

if [ $# -gt 0 ] && [[ $1 != *=* ]]; then exec "$@"; fi
for kv in "$@"; do export "${kv?}"; done

# Launcher knobs, not broker properties: KafkaDockerWrapper's exclusion list, plus KAFKA_JMX_PORT
# (which the official launch script consumes) and any KAFKA_LOG4J_*.
not_a_property() {
  case $1 in
    KAFKA_VERSION | KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JMX_OPTS | KAFKA_JMX_PORT | \
      KAFKA_JMX_HOSTNAME | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_GC_LOG_OPTS | \
      KAFKA_TOOLS_LOG4J_LOGLEVEL | KAFKA_LOG4J_*) return 0 ;;
  esac
  return 1
}

# As the official configure script: a controller-only node must not advertise, and listeners
# default to the advertised ones bound to every interface.
if [ "${KAFKA_PROCESS_ROLES-}" = controller ]; then
  [ -z "${KAFKA_ADVERTISED_LISTENERS-}" ] || die "KAFKA_ADVERTISED_LISTENERS is not supported on a KRaft controller."
  unset KAFKA_ADVERTISED_LISTENERS
elif [ -z "${KAFKA_LISTENERS-}" ] && [ -n "${KAFKA_ADVERTISED_LISTENERS-}" ]; then
  KAFKA_LISTENERS=$(sed -e 's|://[^:]*:|://0.0.0.0:|g' <<<"$KAFKA_ADVERTISED_LISTENERS")
  export KAFKA_LISTENERS
fi

props=
for name in $(compgen -e | sort); do
  [[ $name == KAFKA_* ]] && ! not_a_property "$name" || continue
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//_/.}
  key=${key//.../-}
  key=${key//../_}
  props+="$key=${!name}"$'\n'
done

# Env properties replace the default config entirely; a mounted server.properties is the base
# they are appended to (later keys win in a properties file).
if [ -f "$mounted" ]; then
  { cat "$mounted"; echo; printf '%s' "$props"; } >"$conf"
elif [ -n "$props" ]; then
  printf '%s' "$props" >"$conf"
else
  cp "$home/config/default-server.properties" "$conf"
  CLUSTER_ID=${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw} # the official image's default id
fi
[ -n "${CLUSTER_ID-}" ] ||
  die "CLUSTER_ID is not set; it is required with KAFKA_* configuration (make one with: kafka-storage.sh random-uuid)"

# Logging: the image holds the config of its Kafka major version only (log4j2 from 4.0 on).
if [ -f "$home/config/log4j2.properties" ]; then
  log_conf=$home/config/log4j2.properties log_prop=log4j2.configurationFile log_uri=
else
  log_conf=$home/config/log4j.properties log_prop=log4j.configuration log_uri=file:
fi
tools_log_conf=${log_conf/config\//config/tools-}
if [ -n "${KAFKA_LOG4J_LOGGERS-}" ]; then # "a.b=DEBUG,c=WARN", as in the official image
  cp "$log_conf" "$home/config/env-${log_conf##*/}"
  log_conf=$home/config/env-${log_conf##*/}
  i=0
  IFS=, read -ra pairs <<<"$KAFKA_LOG4J_LOGGERS"
  for pair in "${pairs[@]}"; do
    logger=$(echo "${pair%%=*}" | tr -d '[:space:]') level=$(echo "${pair#*=}" | tr -d '[:space:]')
    [ -n "$logger" ] || continue
    if [ "$log_prop" = log4j.configuration ]; then
      echo "log4j.logger.$logger=$level"
    else
      i=$((i + 1))
      printf 'logger.env%d.name = %s\nlogger.env%d.level = %s\n' "$i" "$logger" "$i" "$level"
    fi
  done >>"$log_conf"
fi
log4j_opts=${KAFKA_LOG4J_OPTS:-"-D$log_prop=$log_uri$log_conf"}
log4j_opts+=" -Dkafka.root.loglevel=${KAFKA_LOG4J_ROOT_LOGLEVEL:-INFO}"

# AppCDS archives recorded at image build (see Dockerfile), as the official image does: on
# 2 vCPUs they cut a broker's boot by ~3 s and the format by ~2 s. A JVM that cannot use an
# archive (e.g. extra jars in libs/) warns and boots without it.
cds() {
  if [ -n "${CDS_ARCHIVE_DUMP-}" ]; then echo "-XX:ArchiveClassesAtExit=$home/$1"
  elif [ -f "$home/$1" ]; then echo "-XX:SharedArchiveFile=$home/$1"; fi
}

# Format on first start only. A restart (the chaos case) finds meta.properties in every log dir
# and skips the ~2 s JVM; otherwise --ignore-formatted formats just what is missing. Only plain
# key=value lines are parsed; anything unexpected just means the format runs.
prop() { sed -n "s/^[[:space:]]*$1[[:space:]]*[=:][[:space:]]*//p" "$conf" | tail -n 1; }
log_dirs=$(prop log.dirs)
log_dirs=${log_dirs:-$(prop log.dir)}
meta_dir=$(prop metadata.log.dir)
dirs=${log_dirs:-/tmp/kafka-logs}${meta_dir:+,$meta_dir} # Kafka's defaults
formatted=yes
IFS=, read -ra dir_list <<<"${dirs//[[:space:]]/}"
for d in "${dir_list[@]}"; do
  [ -f "$d/meta.properties" ] || formatted=no
done
if [ "$formatted" = yes ]; then
  echo "entrypoint: storage already formatted ($dirs)"
else
  # A short-lived JVM: C1 only and a small heap start fastest. `--cluster-id=ID`, not `-t ID`: an
  # id that starts with '-' (valid base64url) would be read as an option.
  echo "entrypoint: formatting storage for cluster $CLUSTER_ID"
  # shellcheck disable=SC2046
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 $(cds storage.jsa) \
    "-D$log_prop=$log_uri$tools_log_conf" -Dkafka.tools.loglevel=WARN -cp "$home/libs/*" \
    kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" -c "$conf" --ignore-formatted ||
    die "formatting storage failed (config: $conf)"
fi

# JMX as the official launch script: only when asked for, and reachable from outside if a port is set.
jmx_opts=${KAFKA_JMX_OPTS-}
if [ -n "${KAFKA_JMX_PORT-}" ]; then
  jmx_host=${KAFKA_JMX_HOSTNAME:-$(hostname -i | cut -d' ' -f1)}
  jmx_opts="${jmx_opts:--Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false}"
  jmx_opts+=" -Djava.rmi.server.hostname=$jmx_host -Dcom.sun.management.jmxremote.local.only=false"
  jmx_opts+=" -Dcom.sun.management.jmxremote.rmi.port=$KAFKA_JMX_PORT -Dcom.sun.management.jmxremote.port=$KAFKA_JMX_PORT"
fi

# exec: the broker is PID 1 and gets docker stop's SIGTERM (and SIGKILL) itself.
# Same argument order and performance defaults as Kafka's kafka-run-class.sh.
# shellcheck disable=SC2086,SC2046
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true} \
  ${KAFKA_GC_LOG_OPTS-} $jmx_opts $log4j_opts $(cds kafka.jsa) -cp "$home/libs/*" ${KAFKA_OPTS-} \
  kafka.Kafka "$conf"
