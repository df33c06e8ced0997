#!/usr/bin/env bash
# Collects the runtime jars of the Kafka broker (KAFKA_VERSION, default 3.9.1) into
# infra/kafka/.libs/<version>/libs with Maven, using pom.xml next to this script.
#
# Idempotent: a stamp file records the hash of pom.xml and the version; when it matches, nothing
# runs. Maven keeps downloaded artifacts in its local repository (~/.m2), so a refetch after a pom
# change or a deleted .libs directory needs no network for jars already seen.
#
# Prints the libs directory on stdout; progress goes to stderr.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

POM="${KAFKA_SCRIPT_DIR}/pom.xml"

case "$(kafka_major)" in
  3) logging_flag=() ;;
  # 4.x dropped log4j 1.x; the pom switches to its log4j2 profile when this property is set.
  4) logging_flag=(-Dkafka.log4j2) ;;
  *) die "unsupported KAFKA_VERSION '$KAFKA_VERSION' (supported: 3.9.x, 4.x)" ;;
esac

# The stamp changes when the pom or the requested version changes, which forces a refetch.
stamp_value="$(sha256sum "$POM" | cut -d' ' -f1) ${KAFKA_VERSION}"

libs_complete() {
  [[ -f "$KAFKA_LIBS_STAMP" && "$(<"$KAFKA_LIBS_STAMP")" == "$stamp_value" && -d "$KAFKA_LIBS_DIR" ]]
}

if libs_complete; then
  printf '%s\n' "$KAFKA_LIBS_DIR"
  exit 0
fi

version_root="$(dirname "$KAFKA_LIBS_DIR")"
mkdir -p "$version_root"
# Parallel callers (several test workers starting brokers at once) fetch only once: the others
# wait here and then find the stamp in place. The lock fd is not inherited by anything long-lived.
exec 8>"${version_root}.lock"
flock -w 600 8 || die "timed out waiting for another fetch of Kafka ${KAFKA_VERSION}"
if libs_complete; then
  printf '%s\n' "$KAFKA_LIBS_DIR"
  exit 0
fi

command -v mvn >/dev/null || die "mvn not found; install Apache Maven 3.6+ (apt-get install -y maven)"
# Fetch into a scratch directory and move it into place only when Maven succeeded, so an
# interrupted fetch never leaves a half-filled libs directory that looks complete.
staging="$(mktemp -d "${version_root}/libs.tmp.XXXXXX")"
trap 'rm -rf -- "$staging"' EXIT

log "fetching Kafka ${KAFKA_VERSION} jars with Maven (about 45 MB, downloaded unless already in ~/.m2)"
# Maven 3.8 prints bare colour-reset sequences even in batch mode; strip them from the output.
if ! mvn -B -q -f "$POM" \
  -Dkafka.version="$KAFKA_VERSION" "${logging_flag[@]}" \
  dependency:copy-dependencies \
  -DoutputDirectory="$staging" -DincludeScope=runtime 2>&1 |
  sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
  die "Maven could not fetch the Kafka ${KAFKA_VERSION} jars (see output above)"
fi

# Sanity check: the broker jar must be there, otherwise the version probably does not exist.
compgen -G "${staging}/kafka_2.13-${KAFKA_VERSION}.jar" >/dev/null ||
  die "kafka_2.13-${KAFKA_VERSION}.jar missing after fetch"

rm -rf -- "$KAFKA_LIBS_DIR"
mv -- "$staging" "$KAFKA_LIBS_DIR"
trap - EXIT
printf '%s\n' "$stamp_value" >"$KAFKA_LIBS_STAMP"
log "jars ready in $KAFKA_LIBS_DIR ($(find "$KAFKA_LIBS_DIR" -name '*.jar' | wc -l) jars)"
printf '%s\n' "$KAFKA_LIBS_DIR"
