#!/usr/bin/env bash
# docker/: both Dockerfiles pass the offline lint (deploy/validate/dockerlint.mjs;
# no docker engine on CI machines), and the lint refuses what it should.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
V=$SRC/deploy/validate
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"
need_npm docker_lint_test "$V"

check "Dockerfile and Dockerfile.cuda are clean" \
  node "$V/dockerlint.mjs" "$SRC" "$SRC/docker/Dockerfile" "$SRC/docker/Dockerfile.cuda"

refused() {  # NAME SED_EXPR: docker/Dockerfile, edited, must fail the lint
  mkdir -p "$T/docker"
  sed "$2" "$SRC/docker/Dockerfile" >"$T/docker/Dockerfile.broken"
  check "refused: $1" bash -c "! node '$V/dockerlint.mjs' '$SRC' '$T/docker/Dockerfile.broken' 2>/dev/null"
}
refused "root user" 's/^USER 10001:10001/USER root/'
refused "no user" '/^USER /d'
refused "apt-get outside the script" 's|^RUN LMC_DEPS=runtime bash /tmp/install-deps.sh|RUN apt-get install -y libgrpc++1.51 \&\& true|'
refused "no health check" '/^HEALTHCHECK/,+1d'
refused "health check on the wrong port" 's/127.0.0.1:50052/127.0.0.1:50051/'
refused "metrics port not exposed" 's/^EXPOSE 50051 9464/EXPOSE 50051/'
refused "single stage" '1,/^FROM debian:12$/{/^FROM debian:12 AS build/d}; /COPY --from=build/d'
refused "source missing from the context" 's|COPY docker/server.conf|COPY docker/nosuch.conf|'
refused "syntax error" 's/^STOPSIGNAL SIGTERM/STOPSIGNAL/'

finish docker_lint_test
