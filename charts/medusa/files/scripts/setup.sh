#!/usr/bin/env bash
# Set up a Medusa store, then verify that it serves its API and admin.
#
# Runs in the setup Job (official node image, uid 1000) with the app volume at APP_ROOT.
# Without PREBUILT it installs the pinned @medusajs/* packages from the npm registry into
# PROJECT_DIR and builds the server and admin there (once per version and configuration); with
# PREBUILT the built server is already in the image at SERVER_DIR. Then, every time (a new Job
# runs on each `helm upgrade`): migrations, seed, admin user, the ready marker the server waits
# for, and verification. Exits non-zero when a step fails or anything is missing.
#
# Environment (set by templates/setup-job.yaml):
#   PREBUILT              "true" when the web image carries the built app
#   APP_ROOT              the app volume (default /app)
#   PROJECT_DIR           where to install and build (not PREBUILT)
#   SERVER_DIR            the built server: PROJECT_DIR/.medusa/server, or the image's app dir
#   READY_MARKER          file to create when the database is migrated and seeded
#   STARTER_DIR           package.json, medusa-config.ts, tsconfig.json (default /urumi/starter)
#   SCRIPTS_DIR           seed.js, admin.js, verify.js, probe.js (default /urumi/scripts)
#   NPM_REGISTRY          npm registry URL
#   DB_HOST DB_PORT REDIS_HOST REDIS_PORT   services to wait for
#   WEB_SERVICE_URL STORE_HOST              in-cluster Medusa Service and the store's host
#   ADMIN_EMAIL ADMIN_PASSWORD              admin login (also read by admin.js)
#   DB_WAIT_TIMEOUT DB_WAIT_INTERVAL        seconds to wait for PostgreSQL and Redis
#   HTTP_WAIT_TIMEOUT HTTP_WAIT_INTERVAL    seconds to wait for the server to answer 200
#   MEDUSA_CLI            the medusa command (default SERVER_DIR/node_modules/.bin/medusa)
#   STORE_URL             the store's public URL (for the log)
set -Eeuo pipefail

: "${SERVER_DIR:?SERVER_DIR is required}"
: "${READY_MARKER:?READY_MARKER is required}"
: "${DB_HOST:?DB_HOST is required}"
: "${REDIS_HOST:?REDIS_HOST is required}"
: "${WEB_SERVICE_URL:?WEB_SERVICE_URL is required}"
: "${STORE_HOST:?STORE_HOST is required}"
: "${ADMIN_EMAIL:?ADMIN_EMAIL is required}"
: "${ADMIN_PASSWORD:?ADMIN_PASSWORD is required}"
PREBUILT=${PREBUILT:-false}
APP_ROOT=${APP_ROOT:-/app}
STARTER_DIR=${STARTER_DIR:-/urumi/starter}
SCRIPTS_DIR=${SCRIPTS_DIR:-/urumi/scripts}
NPM_REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org/}
DB_PORT=${DB_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
DB_WAIT_TIMEOUT=${DB_WAIT_TIMEOUT:-600}
DB_WAIT_INTERVAL=${DB_WAIT_INTERVAL:-5}
HTTP_WAIT_TIMEOUT=${HTTP_WAIT_TIMEOUT:-600}
HTTP_WAIT_INTERVAL=${HTTP_WAIT_INTERVAL:-5}
MEDUSA_CLI=${MEDUSA_CLI:-$SERVER_DIR/node_modules/.bin/medusa}
export SEED_FILE=${SEED_FILE:-$SCRIPTS_DIR/seed.json}
export PUBLISHABLE_KEY_FILE=${PUBLISHABLE_KEY_FILE:-${TMPDIR:-/tmp}/publishable-key}
export ADMIN_EMAIL ADMIN_PASSWORD

log() { printf '[setup] %s\n' "$*" >&2; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

wait_for_tcp() { # NAME HOST PORT
  local deadline=$((SECONDS + DB_WAIT_TIMEOUT))
  log "waiting up to ${DB_WAIT_TIMEOUT}s for $1 at $2:$3"
  until node "$SCRIPTS_DIR/probe.js" tcp "$2" "$3"; do
    if ((SECONDS >= deadline)); then
      die "$1 ($2:$3) did not accept connections within ${DB_WAIT_TIMEOUT}s"
    fi
    sleep "$DB_WAIT_INTERVAL"
  done
  log "$1 is up"
}

# Medusa commands run in the built server, in production mode (never for npm install: that
# would skip the build tools in devDependencies).
# NODE_PATH lets the scripts from the ConfigMap (outside the app) load the app's @medusajs/*.
medusa() { (cd "$SERVER_DIR" && NODE_ENV=production NODE_PATH="$SERVER_DIR/node_modules" "$MEDUSA_CLI" "$@"); }

install_app() {
  : "${PROJECT_DIR:?PROJECT_DIR is required unless PREBUILT}"
  if [[ -f "$PROJECT_DIR/.urumi-built" ]]; then
    log "Medusa is already installed and built in $PROJECT_DIR"
    return
  fi
  log "installing Medusa from $NPM_REGISTRY into $PROJECT_DIR"
  rm -rf "$PROJECT_DIR"
  mkdir -p "$PROJECT_DIR"
  cp "$STARTER_DIR/package.json" "$STARTER_DIR/medusa-config.ts" "$STARTER_DIR/tsconfig.json" "$PROJECT_DIR/"
  (cd "$PROJECT_DIR" && npm install --no-audit --no-fund --loglevel=error --registry="$NPM_REGISTRY")
  log "building the Medusa server and admin"
  (cd "$PROJECT_DIR" && ./node_modules/.bin/medusa build)
  # The build output is a separate application; it shares the project's node_modules.
  ln -sfn ../../node_modules "$SERVER_DIR/node_modules"
  touch "$PROJECT_DIR/.urumi-built"
  # Builds of other versions or configurations are no longer run by anything (the server pod
  # is replaced, not rolled, when the build changes).
  local old
  for old in "$APP_ROOT"/medusa-*; do
    if [[ -d "$old" && "$old" != "$PROJECT_DIR" ]]; then
      log "removing the previous build $old"
      rm -rf "$old"
    fi
  done
}

http_code() { # PATH [HEADER: VALUE]...
  local path=$1
  shift
  node "$SCRIPTS_DIR/probe.js" http "$WEB_SERVICE_URL$path" "Host: $STORE_HOST" "$@"
}

server_answers() { # PATH [HEADER: VALUE]...: waits for a 200
  local deadline=$((SECONDS + HTTP_WAIT_TIMEOUT)) code=""
  while :; do
    if code=$(http_code "$@") && [[ "$code" == 200 ]]; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "GET $1 (Host: $STORE_HOST) answered ${code:-nothing} for ${HTTP_WAIT_TIMEOUT}s"
      return 1
    fi
    sleep "$HTTP_WAIT_INTERVAL"
  done
}

verify() {
  local failed=0 key
  log "verifying the store"
  if medusa exec "$SCRIPTS_DIR/verify.js"; then
    log "ok: region, shipping, publishable key, products and admin login exist"
  else
    log "FAILED: the store's data is incomplete (see above)"
    failed=$((failed + 1))
  fi
  key=$(cat "$PUBLISHABLE_KEY_FILE")
  # /health: the server is up; /app/: the admin is served; /store/products: the Store API
  # answers with the seeded catalogue for the publishable key.
  local -a checks=("/health" "/app/" "/store/products?limit=1")
  local path
  for path in "${checks[@]}"; do
    if server_answers "$path" "x-publishable-api-key: $key"; then
      log "ok: GET $path answers 200"
    else
      log "FAILED: GET $path does not answer 200"
      failed=$((failed + 1))
    fi
  done
  ((failed == 0)) || die "$failed check(s) failed: the store is not ready"
  log "store ${STORE_URL:-$STORE_HOST} is ready"
}

main() {
  wait_for_tcp PostgreSQL "$DB_HOST" "$DB_PORT"
  wait_for_tcp Redis "$REDIS_HOST" "$REDIS_PORT"
  if [[ "$PREBUILT" == true ]]; then
    log "using the Medusa server built into the image at $SERVER_DIR"
  else
    install_app
  fi
  log "running database migrations"
  medusa db:migrate
  log "seeding region, shipping and products"
  medusa exec "$SCRIPTS_DIR/seed.js"
  log "creating the admin user"
  medusa exec "$SCRIPTS_DIR/admin.js"
  mkdir -p "$(dirname "$READY_MARKER")"
  touch "$READY_MARKER"
  log "the server may start now ($READY_MARKER)"
  verify
}

main "$@"
