#!/usr/bin/env bash
# helm test: the Medusa server answers 200 through its in-cluster Service with the store's Host
# header: /health (the server), /app/ (the admin dashboard).
set -Eeuo pipefail
: "${WEB_SERVICE_URL:?WEB_SERVICE_URL is required}"
: "${STORE_HOST:?STORE_HOST is required}"
SCRIPTS_DIR=${SCRIPTS_DIR:-/urumi/scripts}

failed=0
for path in /health /app/; do
  if code=$(node "$SCRIPTS_DIR/probe.js" http "$WEB_SERVICE_URL$path" "Host: $STORE_HOST") &&
    [[ "$code" == 200 ]]; then
    printf '[server-test] ok: GET %s -> 200\n' "$path"
  else
    printf '[server-test] FAILED: GET %s (Host: %s) -> %s\n' "$path" "$STORE_HOST" "${code:-000}" >&2
    failed=1
  fi
done
exit "$failed"
