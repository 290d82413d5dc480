#!/usr/bin/env bash
# `lmc --server`: the CLI through a real lmc-server on loopback. Frames made by
# the server decode locally and the other way round; large inputs go through
# the streams; errors keep the CLI's exit codes.
# Usage: cli_remote_test.sh LMC LMC_SERVER RANDOM_MODEL_TOOL
set -uo pipefail
LMC=$1 SERVER=$2 MKMODEL=$3
T=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
source "$(dirname "$0")/lib.sh"

"$MKMODEL" "$T/tiny.safetensors" 1 tiny
"$MKMODEL" "$T/other.safetensors" 2 tiny
"$SERVER" --listen 127.0.0.1:0 --model "tiny=$T/tiny.safetensors" 2>"$T/log" &
pid=$!
for _ in $(seq 300); do grep -q '^lmc-server: serving' "$T/log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$T/log")
[[ -n $port ]] || { echo "server did not start:"; cat "$T/log"; exit 1; }
S=127.0.0.1:$port
export LMC_MODEL=$T/tiny.safetensors

for i in $(seq 400); do echo "{\"seq\": $i, \"msg\": \"event number $i of the remote test\"}"; done >"$T/small.json"
head -c 2500000 /dev/urandom | base64 >"$T/big.txt"   # 3.4 MB, over a unary message: streams

"$LMC" --server "$S" compress -c "$T/small.json" >"$T/remote.lmc"
"$LMC" compress -c "$T/small.json" >"$T/local.lmc"
check "server frame == local frame" cmp -s "$T/remote.lmc" "$T/local.lmc"
check "server frame decodes locally" bash -c "'$LMC' decompress -c '$T/remote.lmc' | cmp -s - '$T/small.json'"
check "local frame decodes on the server" bash -c "'$LMC' --server $S decompress -c '$T/local.lmc' | cmp -s - '$T/small.json'"
# Media: the server picks the same front-end as local mode, and honours --modality.
{ printf 'P6\n20 10\n255\n'; head -c 600 /dev/urandom; } >"$T/img.ppm"
check "image: server frame == local frame" cmp -s <("$LMC" --server "$S" compress -c "$T/img.ppm") <("$LMC" compress -c "$T/img.ppm")
check "image: --modality bytes remotely" cmp -s <("$LMC" --server "$S" --modality bytes compress -c "$T/img.ppm") <("$LMC" --modality bytes compress -c "$T/img.ppm")
check "image: a frame of the image front-end" bash -c "'$LMC' --server $S compress -c '$T/img.ppm' | '$LMC' info - | grep -q 'front-end     image'"
check "big input through the streams" bash -c "'$LMC' --server $S compress -c '$T/big.txt' >'$T/big.lmc'"
check "streamed frames decode locally" bash -c "'$LMC' decompress -c '$T/big.lmc' | cmp -s - '$T/big.txt'"
check "and on the server" bash -c "'$LMC' --server $S decompress -c '$T/big.lmc' | cmp -s - '$T/big.txt'"
check "health: SERVING, exit 0" bash -c "'$LMC' --server $S health | grep -qx SERVING"
check "health liveness: exit 0" bash -c "'$LMC' --server $S health liveness >/dev/null"
"$LMC" --server "$S" health nosuch >/dev/null 2>&1; rc=$?
check "health of an unknown service: exit 1 (got $rc)" test $rc = 1
check "models lists tiny" bash -c "'$LMC' --server $S models | grep -q ' tiny (default)'"
head -c 100 "$T/remote.lmc" >"$T/cut.lmc"
"$LMC" --server "$S" decompress -c "$T/cut.lmc" >/dev/null 2>&1; rc=$?
check "truncated frame: exit 2 (got $rc)" test $rc = 2
LMC_MODEL=$T/other.safetensors "$LMC" compress -c "$T/small.json" >"$T/other.lmc"
"$LMC" --server "$S" decompress -c "$T/other.lmc" >/dev/null 2>&1; rc=$?
check "frame of a model the server lacks: exit 3 (got $rc)" test $rc = 3
"$LMC" --server "$S" compress -m nosuch -c "$T/small.json" >/dev/null 2>&1; rc=$?
check "unknown model name: exit 1 (got $rc)" test $rc = 1
kill -TERM $pid
wait $pid; rc=$?
pid=
check "SIGTERM: server exits 0 (got $rc)" test $rc = 0
"$LMC" --server "$S" compress -c "$T/small.json" >/dev/null 2>&1; rc=$?
check "no server: exit 1 (got $rc)" test $rc = 1

# TLS and a token: a CA and a certificate for localhost, made here.
(cd "$T" && {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -subj /CN=lmc-test-ca -days 2 -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -subj /CN=localhost -out server.csr
  printf 'subjectAltName=DNS:localhost\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
}) >"$T/openssl.log" 2>&1 || { echo "openssl failed:"; cat "$T/openssl.log"; exit 1; }
echo "cli 0123456789abcdef-cli-token" >"$T/tokens"
echo "0123456789abcdef-cli-token" >"$T/token"
"$SERVER" --listen 127.0.0.1:0 --model "tiny=$T/tiny.safetensors" --tls_cert "$T/server.pem" \
  --tls_key "$T/server.key" --auth_tokens "$T/tokens" 2>"$T/tls.log" &
pid=$!
for _ in $(seq 300); do grep -q '^lmc-server: serving' "$T/tls.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$T/tls.log")
S=localhost:$port
check "TLS + token file: same frame as local" bash -c "'$LMC' --server $S --tls_ca '$T/ca.pem' --token_file '$T/token' compress -c '$T/small.json' | cmp -s - '$T/local.lmc'"
check "TLS + LMC_TOKEN: decodes" bash -c "LMC_TOKEN=\$(cat '$T/token') '$LMC' --server $S --tls_ca '$T/ca.pem' decompress -c '$T/local.lmc' | cmp -s - '$T/small.json'"
"$LMC" --server "$S" --tls_ca "$T/ca.pem" compress -c "$T/small.json" >/dev/null 2>"$T/err"; rc=$?
check "no token: exit 1 (got $rc)" test $rc = 1
check "no token: says so" grep -q "token" "$T/err"
"$LMC" --server "$S" --token_file "$T/token" compress -c "$T/small.json" >/dev/null 2>&1; rc=$?
check "plaintext client against TLS: exit 1 (got $rc)" test $rc = 1
kill -TERM $pid
wait $pid
pid=
finish cli_remote_test
