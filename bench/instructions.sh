#!/usr/bin/env bash
# Instructions per request, the steadiest measure on a shared, noisy machine:
# the server runs under callgrind with instrumentation off, is warmed up with
# WARM requests (20,000), then counts exactly N requests (10,000; autocannon,
# 10 connections, 127.0.0.1 only). V8's JIT compiler is reported apart: it
# keeps recompiling now and then even after the warm-up. Runs of one server
# still differ by 1-3 %: compare medians of interleaved runs.
#   bench/instructions.sh                      node-http drupe fastify on /hello
#   bench/instructions.sh /json node-http drupe
#   BODY="$(node --input-type=module -e "console.log((await import('./servers/validate-common.mjs')).VALIDATE_BODY)")" \
#     SCHEMA=none bench/instructions.sh /users validate-drupe validate-fastify
#                                              a POST of BODY (content-type application/json) instead of a
#                                              GET; SCHEMA reaches the validate-drupe server (zod | valibot | none)
#   bench/instructions.sh /hello h2-node h2-drupe h2-fastify
#                                              HTTP/2 over TLS (a server named h2-*): h2load -c10 -m10
#                                              (Debian's nghttp2-client) with a self-signed certificate
#                                              made for the run; WARM defaults to 8,000 and N to 6,000
#                                              (on /stream use N=1000 WARM=4000: valgrind is slow;
#                                              CONNS=50 for the h2 scenario's 500 streams in flight)
#   KEEP=dir bench/instructions.sh ...         also keep each server's callgrind_annotate listing (and, with
#                                              ATTRIBUTE, its perf map)
#   NODE_FLAGS=... bench/instructions.sh ...   node flags for the servers (default: the young generation
#                                              bench/run.mjs gives every server, --min-semi-space-size=16;
#                                              NODE_FLAGS= for V8's own heap sizing)
#   ATTRIBUTE=1 bench/instructions.sh ...      also split each request: the framework's own JS, the builtins
#                                              it calls, node's writeHead and end (attribute.mjs)
#                                              (TOP=N: and the N functions with the most self cost)
set -euo pipefail
cd "$(dirname "$0")"
path=${1:-/hello}; shift || true
frameworks=${*:-node-http drupe fastify}
case "$frameworks" in *h2-*) n=${N:-6000};; *) n=${N:-10000};; esac
NODE_FLAGS=${NODE_FLAGS---min-semi-space-size=16}
port=${PORT:-3970}
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f ../dist/index.js ] || (cd .. && npm run --silent build)
out=$(mktemp -d)
# A POST with a JSON body when BODY is set (autocannon's and curl's own flags).
ac_post=(); curl_post=()
if [ -n "${BODY:-}" ]; then
  ac_post=(-m POST -b "$BODY" -H content-type=application/json)
  curl_post=(-X POST --data-raw "$BODY" -H content-type:application/json)
fi
case "$frameworks" in *h2-*)
  command -v h2load >/dev/null || apt-get install -y nghttp2-client >/dev/null
  # A self-signed certificate for the h2 servers (they read CERT and KEY).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$out/key.pem" -out "$out/cert.pem" >/dev/null 2>&1
  export CERT="$out/cert.pem" KEY="$out/key.pem";;
esac
[ -z "${ATTRIBUTE:-}" ] || NODE_FLAGS="${NODE_FLAGS:-} --perf-basic-prof"
trap 'rm -rf "$out"' EXIT
for fw in $frameworks; do
  rm -f "$out"/cg.*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" node ${NODE_FLAGS:-} "servers/$fw.mjs" "$port" >"$out/server.log" 2>&1 &
  pid=$!
  if [[ $fw == h2-* ]]; then
    for _ in $(seq 600); do curl -sk --http2 -o /dev/null "https://127.0.0.1:$port$path" && break; sleep 0.2; done
    h2load -t1 -c"${CONNS:-10}" -m10 -n "${WARM:-8000}" "https://127.0.0.1:$port$path" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    h2load -t1 -c"${CONNS:-10}" -m10 -n "$n" "https://127.0.0.1:$port$path" >"$out/load.log" 2>&1
    grep -q "$n succeeded" "$out/load.log" || { echo "$fw: h2load did not finish every request:"; tail -5 "$out/load.log"; }
  else
    for _ in $(seq 600); do curl -s -o /dev/null "${curl_post[@]}" "127.0.0.1:$port$path" && break; sleep 0.2; done
    node_modules/.bin/autocannon "${ac_post[@]}" -a "${WARM:-20000}" -c 10 "http://127.0.0.1:$port$path" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    node_modules/.bin/autocannon "${ac_post[@]}" -a "$n" -c 10 "http://127.0.0.1:$port$path" >/dev/null 2>&1
  fi
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  cat "$out"/cg.* > "$out/all"
  if [ -n "${ATTRIBUTE:-}" ]; then
    node attribute.mjs "$out/all" "/tmp/perf-$pid.map" "$n" "$fw"
    [ -z "${KEEP:-}" ] || cp "/tmp/perf-$pid.map" "$KEEP/$fw.map"
    rm -f "/tmp/perf-$pid.map"
  fi
  [ -z "${KEEP:-}" ] || { callgrind_annotate --inclusive=no --threshold=100 "$out/all" >"$KEEP/$fw.txt" 2>/dev/null; cp "$out/all" "$KEEP/$fw.callgrind"; }
  callgrind_annotate --inclusive=no --threshold=100 "$out/all" 2>/dev/null | N=$n FW=$fw python3 -c '
import os, re, sys
n = int(os.environ["N"]); total = jit = 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if not m or "PROGRAM TOTALS" in m.group(2): continue
    ir = int(m.group(1).replace(",", "")); total += ir
    if re.search(r"v8::internal::(compiler::|maglev::|baseline::|interpreter::Bytecode|Parser|Scanner|Zone|Assembler|OptimizingCompile|Compiler)", m.group(2)): jit += ir
fw = os.environ["FW"]
print(f"{fw:10} {(total - jit) // n:8d} instructions/request ({jit // n} more in JIT compilation)")
'
done
