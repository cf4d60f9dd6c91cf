#!/usr/bin/env bash
# Young-generation collections per h2 load (`bench/h2-gc.sh /stream h2-node h2-drupe`): each
# server under --trace-gc (and the young generation bench/run.mjs gives every server), warmed up
# with WARM requests (10,000), then N more (10,000) from h2load -c50 -m10, the h2 scenario's 500
# streams in flight; prints the scavenges during those N, the time they took in all, and what they
# copied (bytes that survived in the young generation, bytes promoted to the old one): the copying
# is the scavenger's work, and unlike its time it hardly depends on the machine's load.
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
  taskset -c 1 node --trace-gc-nvp ${NODE_FLAGS---min-semi-space-size=16} "servers/$fw.mjs" "$port" >"$out/gc.log" 2>&1 &
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
count = 0; ms = 0.0; survived = 0; promoted = 0; mark = 0; mark_ms = 0.0
for line in sys.stdin:
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    if f.get("gc") == "s":
        count += 1; ms += float(f["pause"]); survived += int(f["new_space_survived"]); promoted += int(f["promoted"])
    elif f.get("gc") in ("ms", "mc"):
        mark += 1; mark_ms += float(f["pause"])
fw = os.environ["FW"]; n = int(os.environ["N"])
print(f"{fw:10} {count:4d} scavenges, {ms:7.1f} ms in all; copied {survived / 1e6:6.1f} MB, promoted {promoted / 1e6:5.1f} MB ({(survived + promoted) / n:5.0f} B a request); {mark} mark-compact, {mark_ms:.1f} ms; per {n} requests")
'
done
