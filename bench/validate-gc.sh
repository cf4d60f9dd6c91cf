#!/usr/bin/env bash
# Heap allocation and young-generation copying per request for the validate scenario
# (`bench/validate-gc.sh [fastify] [zod] [valibot] [none] [hello]`; all five by default): each
# server under --trace-gc-nvp (and the young generation bench/run.mjs gives every server),
# warmed up with WARM requests (20,000), then N more (50,000) from autocannon -c10, POSTs of the
# scenario's 83-byte JSON body (`hello`: Drupe's GET /hello, for comparison). Prints, for those N,
# the bytes V8 allocated (the window starts and ends on a collection, load/gc-on-signal.mjs: the sum
# of each collection's `allocated`, the heap's growth since the one before, is exact), what the scavenges copied
# (survived in the young generation, promoted to the old one: the collector's work, which hardly
# depends on the machine's load), and the collections. Server on core 1, load on core 0. Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
which=${*:-fastify zod valibot none hello}
n=${N:-50000}
port=${PORT:-3972}
body=$(node --input-type=module -e "console.log((await import('./servers/validate-common.mjs')).VALIDATE_BODY)")
[ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null
[ -f ../dist/index.js ] || (cd .. && npm run --silent build)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in $which; do
  case $w in
    fastify) file=validate-fastify.mjs; schema=; path=/users;;
    hello) file=drupe.mjs; schema=; path=/hello;;
    *) file=validate-drupe.mjs; schema=$w; path=/users;;
  esac
  post=(); curl_post=()
  [ "$path" = /hello ] || { post=(-m POST -b "$body" -H content-type=application/json); curl_post=(-X POST --data-raw "$body" -H content-type:application/json); }
  SCHEMA=$schema NODE_ENV=production taskset -c 1 node --trace-gc-nvp --expose-gc --import ./load/gc-on-signal.mjs ${NODE_FLAGS---min-semi-space-size=16} "servers/$file" "$port" >"$out/gc.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "${curl_post[@]}" "127.0.0.1:$port$path" && break; sleep 0.2; done
  taskset -c 0 node_modules/.bin/autocannon "${post[@]}" -a "${WARM:-20000}" -c 10 "http://127.0.0.1:$port$path" >/dev/null 2>&1
  kill -USR2 "$pid"; sleep 0.3
  before=$(wc -l <"$out/gc.log")
  taskset -c 0 node_modules/.bin/autocannon "${post[@]}" -a "$n" -c 10 -j "http://127.0.0.1:$port$path" >"$out/load.json" 2>/dev/null
  # One more collection ends the window: its `allocated` counts what the N requests allocated since the last one.
  kill -USR2 "$pid"; sleep 0.3
  kill "$pid"; wait "$pid" 2>/dev/null || true
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (r.non2xx || r.errors || r.requests.total !== Number(process.argv[2])) console.log(`${process.argv[3]}: ${r.requests.total} requests, ${r.non2xx} not 2xx, ${r.errors} errors`)' "$out/load.json" "$n" "$w"
  tail -n +"$((before + 1))" "$out/gc.log" | W=$w N=$n python3 -c '
import os, sys
count = 0; survived = 0; promoted = 0; allocated = 0; mark = 0
for line in sys.stdin:
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    if "allocated" in f: allocated += int(f["allocated"])
    if f.get("gc") == "s":
        count += 1; survived += int(f["new_space_survived"]); promoted += int(f["promoted"])
    elif f.get("gc") in ("ms", "mc"):
        mark += 1
w = os.environ["W"]; n = int(os.environ["N"])
print(f"{w:8} {allocated / n:6.0f} B allocated a request; {count:3d} scavenges copied {(survived + promoted) / n:5.1f} B a request; {mark} mark-compact; per {n} requests")
'
done
