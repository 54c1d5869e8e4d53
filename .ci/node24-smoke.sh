#!/usr/bin/env bash
# The Node 24 smoke (issue 12, item 10): CI runs everything else on the machine's Node 20; this
# makes sure the project also runs on 24. With Node 24 first on PATH (the `node` package's Linux
# binary from the npm registry, through npx), so that npm and the `node` of `npm start` are 24 too:
#   1. `npm start` on a fresh embedded database with the demo catalogue, one GraphQL query with
#      the bootstrap ADMIN key, then SIGTERM to the pid npm gives: it must stop within 10 s;
#   2. a fast suite (test/architecture, test/http) under Node 24.
# Every wait is bounded; any failure exits non-zero. Run from anywhere: .ci/node24-smoke.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE24_SPEC="${NODE24_SPEC:-node@24}"
node24=$(timeout 300 npx -y "$NODE24_SPEC" -p process.execPath)
version=$("$node24" --version)
case "$version" in
  v24.*) echo "Node $version at $node24" ;;
  *) echo "expected Node 24 from $NODE24_SPEC, got $version"; exit 1 ;;
esac
export PATH="$(dirname "$node24"):$PATH"
[ "$(node --version)" = "$version" ] || { echo "node on PATH is $(node --version), not $version"; exit 1; }

scratch=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
admin_key="bo_node24_smoke_$(node -p 'require("crypto").randomBytes(18).toString("base64url")')"

echo "npm start on Node $version, port $port"
PORT="$port" HOST=127.0.0.1 PGLITE_DIR="$scratch/pglite" SEED_DEMO=true BOOTSTRAP_ADMIN_KEY="$admin_key" LOG_LEVEL=warn \
  npm start >"$scratch/server.log" 2>&1 &
server_pid=$!
deadline=$(( $(date +%s) + 120 ))
until grep -q '^Listening on ' "$scratch/server.log"; do
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$scratch/server.log"; echo "npm start exited before listening"; exit 1; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then cat "$scratch/server.log"; echo "npm start did not listen within 120 s"; exit 1; fi
  sleep 0.5
done
grep '^Listening on ' "$scratch/server.log"

answer=$(curl -sS --max-time 30 "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $admin_key" \
  -d '{"query":"{ products(first: 3) { totalCount nodes { sku stock { available backordered } } } }"}')
echo "$answer"
echo "$answer" | node -e '
  const body = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (body.errors || !(body.data?.products?.totalCount > 0)) { console.error("the query did not return the demo products"); process.exit(1); }
'

kill -TERM "$server_pid"
deadline=$(( $(date +%s) + 10 ))
while kill -0 "$server_pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then cat "$scratch/server.log"; echo "npm start did not stop within 10 s of SIGTERM"; exit 1; fi
  sleep 0.2
done
wait "$server_pid" || { cat "$scratch/server.log"; echo "npm start exited with an error after SIGTERM"; exit 1; }
server_pid=""
echo "stopped"

echo "test/architecture and test/http on Node $version"
timeout 900 node node_modules/vitest/vitest.mjs run test/architecture test/http --project pglite
