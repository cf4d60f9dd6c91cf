#!/usr/bin/env bash
# Young-generation collections per h2 load (`bench/h2-gc.sh /stream h2-node h2-drupe`): each
# server under --trace-gc (and the young generation bench/run.mjs gives every server), warmed up
# with WARM requests (10,000), then N more (10,000) from h2load -c50 -m10, the h2 scenario's 500
# streams in flight; prints the scavenges during those N and the time they took in all.
# Server on core 1, h2load on core 0. Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
path=${1:-/stream}; shift || true
frameworks=${*:-h2-node h2-drupe}
n=${N:-10000}
port=${PORT:-3971}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$out/key.pem" -out "$out/cert.pem" >/dev/null 2>&1
export CERT="$out/cert.pem" KEY="$out/key.pem"
for fw in $frameworks; do
  taskset -c 1 node --trace-gc ${NODE_FLAGS---min-semi-space-size=16} "servers/$fw.mjs" "$port" >"$out/gc.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -sk --http2 -o /dev/null "https://127.0.0.1:$port$path" && break; sleep 0.2; done
  taskset -c 0 h2load -t1 -c50 -m10 -n "${WARM:-10000}" "https://127.0.0.1:$port$path" >/dev/null 2>&1
  before=$(wc -l <"$out/gc.log")
  taskset -c 0 h2load -t1 -c50 -m10 -n "$n" "https://127.0.0.1:$port$path" >"$out/load.log" 2>&1
  sleep 0.2
  kill "$pid"; wait "$pid" 2>/dev/null || true
  grep -q "$n succeeded" "$out/load.log" || { echo "$fw: h2load did not finish every request:"; tail -3 "$out/load.log"; }
  tail -n +"$((before + 1))" "$out/gc.log" | FW=$fw N=$n python3 -c '
import os, re, sys
count = 0; ms = 0.0; mark = 0; mark_ms = 0.0
for line in sys.stdin:
    m = re.search(r"(Scavenge|Mark-Compact|Mark-sweep)[^,]*?, ([\d.]+) / [\d.]+ ms", line)
    if not m: continue
    if m.group(1) == "Scavenge": count += 1; ms += float(m.group(2))
    else: mark += 1; mark_ms += float(m.group(2))
fw = os.environ["FW"]; n = os.environ["N"]
print(f"{fw:10} {count:4d} scavenges, {ms:7.1f} ms in all ({ms / max(count, 1):.2f} ms each); {mark} mark-compact, {mark_ms:.1f} ms; per {n} requests")
'
done
