#!/usr/bin/env bash
# Set up a WooCommerce store, then verify that it can take an order.
#
# Runs in the setup Job (official wordpress:cli image, as uid/gid 33 like the Apache image) with
# WordPress core in the current directory and wp-content on the store's volume. A handful of
# steps, each one wp-cli process at most (the work is done by the PHP files next to this script
# through `wp eval-file`: booting WordPress once per step, not once per option). Every step is
# idempotent: a new Job runs on each `helm upgrade`, and a second run changes nothing.
#
# Any failure ends the script with exit 1 and, as its last line,
#   setup: step <step> failed: <reason>
# e.g. "setup: step install-plugins failed: download of woocommerce from https://... failed:
# could not resolve host: downloads.wordpress.org". Steps: wait-database, install-wordpress,
# inspect, install-plugins, install-theme, activate, configure, verify.
#
# Environment (set by templates/setup-job.yaml):
#   WP_URL                exact store URL, e.g. http://shop.localhost (WordPress home/siteurl)
#   STORE_HOST            host part of WP_URL, sent as Host header by the HTTP checks
#   WEB_SERVICE_URL       in-cluster WordPress Service, e.g. http://shop-wordpress
#   STORE_TITLE           shop title
#   ADMIN_USER ADMIN_PASSWORD ADMIN_EMAIL   WordPress administrator
#   WC_VERSION STOREFRONT_VERSION           pinned WooCommerce plugin and Storefront theme
#   WC_PACKAGE STOREFRONT_PACKAGE           where to get them: a URL or an absolute path of a zip;
#                                           empty = downloads.wordpress.org at the pinned version
#   PACKAGES_DIR          zips already fetched by fetch-packages.sh (<slug>.zip); used when present
#   STORE_CURRENCY STORE_COUNTRY            WooCommerce currency and base location
#   SCRIPTS_DIR           where the PHP steps and products.tsv are (default /urumi)
#   DB_WAIT_TIMEOUT DB_WAIT_INTERVAL        seconds to wait for MariaDB, and between tries
#   HTTP_WAIT_TIMEOUT HTTP_WAIT_INTERVAL    same for the storefront answering 200
set -Eeuo pipefail

: "${WP_URL:?WP_URL is required}"
: "${STORE_HOST:?STORE_HOST is required}"
: "${WEB_SERVICE_URL:?WEB_SERVICE_URL is required}"
: "${ADMIN_USER:?ADMIN_USER is required}"
: "${ADMIN_PASSWORD:?ADMIN_PASSWORD is required}"
: "${ADMIN_EMAIL:?ADMIN_EMAIL is required}"
: "${WC_VERSION:?WC_VERSION is required}"
: "${STOREFRONT_VERSION:?STOREFRONT_VERSION is required}"
export STORE_TITLE=${STORE_TITLE:-$STORE_HOST}
export STORE_CURRENCY=${STORE_CURRENCY:-USD}
export STORE_COUNTRY=${STORE_COUNTRY:-US:CA}
export SCRIPTS_DIR=${SCRIPTS_DIR:-/urumi}
export WP_URL WC_VERSION STOREFRONT_VERSION
WC_PACKAGE=${WC_PACKAGE:-https://downloads.wordpress.org/plugin/woocommerce.$WC_VERSION.zip}
STOREFRONT_PACKAGE=${STOREFRONT_PACKAGE:-https://downloads.wordpress.org/theme/storefront.$STOREFRONT_VERSION.zip}
DB_WAIT_TIMEOUT=${DB_WAIT_TIMEOUT:-600}
DB_WAIT_INTERVAL=${DB_WAIT_INTERVAL:-5}
HTTP_WAIT_TIMEOUT=${HTTP_WAIT_TIMEOUT:-600}
HTTP_WAIT_INTERVAL=${HTTP_WAIT_INTERVAL:-5}
SCHEME=${WP_URL%%://*}
WORK=$(mktemp -d)
STEP=start

log() { printf '[setup] %s\n' "$*" >&2; }
# fail REASON: the one line that says what failed, last in the log; exit 1.
fail() {
  trap - ERR
  printf 'setup: step %s failed: %s\n' "$STEP" "$*" >&2
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND exited $?"' ERR
step() {
  STEP=$1
  log "step $STEP"
}

# last_error FILE...: the last non-empty line of the first file that has one.
last_error() {
  local file line
  for file in "$@"; do
    line=$(sed -e '/^[[:space:]]*$/d' "$file" | tail -n 1)
    if [[ -n "$line" ]]; then
      printf '%s' "$line"
      return
    fi
  done
  printf 'exited non-zero without a message'
}

# run_wp ARGS...: wp-cli with its output in the log (stdout also kept in $WORK/out); a failure
# fails the current step with wp-cli's last error line.
run_wp() {
  if ! wp "$@" >"$WORK/out" 2>"$WORK/err"; then
    sed 's/^/  /' "$WORK/out" "$WORK/err" >&2
    fail "$(last_error "$WORK/err" "$WORK/out" | sed 's/^Error: //')"
  fi
  sed 's/^/  /' "$WORK/out" "$WORK/err" >&2
}

wait_for_database() {
  step wait-database
  local deadline=$((SECONDS + DB_WAIT_TIMEOUT)) err
  log "waiting up to ${DB_WAIT_TIMEOUT}s for the database"
  until wp eval-file "$SCRIPTS_DIR/db-ping.php" --skip-wordpress >/dev/null 2>"$WORK/err"; do
    if ((SECONDS >= deadline)); then
      err=$(last_error "$WORK/err")
      fail "the database did not accept connections within ${DB_WAIT_TIMEOUT}s: $err"
    fi
    sleep "$DB_WAIT_INTERVAL"
  done
  log "database is up"
}

install_wordpress() {
  step install-wordpress
  if wp core is-installed 2>"$WORK/err"; then
    log "WordPress is already installed"
  else
    log "installing WordPress at $WP_URL"
    run_wp core install --url="$WP_URL" --title="$STORE_TITLE" --admin_user="$ADMIN_USER" \
      --admin_password="$ADMIN_PASSWORD" --admin_email="$ADMIN_EMAIL" --skip-email
  fi
}

# fetch_package SLUG SOURCE: sets ZIP to the path of the zip (downloaded into $WORK when a URL).
# (Not a command substitution: fail must end the script itself, with its line last.)
fetch_package() {
  local slug=$1 source=$2 err
  case "$source" in
    /*)
      [[ -r "$source" ]] || fail "package of $slug not found: $source is not a readable file"
      ZIP=$source
      ;;
    http://* | https://* | file://*)
      log "downloading $slug from $source"
      if ! curl -fsSL --connect-timeout 20 --max-time 900 -o "$WORK/$slug.zip" "$source" 2>"$WORK/curl-err"; then
        err=$(last_error "$WORK/curl-err" | sed -E 's/^curl: \([0-9]+\) //')
        fail "download of $slug from $source failed: ${err,}"
      fi
      ZIP=$WORK/$slug.zip
      ;;
    *) fail "package of $slug must be a URL or an absolute path, not: $source" ;;
  esac
}

# ensure_installed plugin|theme SLUG VERSION SOURCE: installed at exactly VERSION (from SOURCE).
ensure_installed() {
  local kind=$1 slug=$2 version=$3 source=$4 current
  current=$(sed -n "s/^$kind $slug \([^ ]*\) .*/\1/p" "$WORK/inspect")
  if [[ "$current" == "$version" ]]; then
    log "$kind $slug $version is installed"
    return
  fi
  [[ "$current" == - ]] && current=""
  if [[ -n "${PACKAGES_DIR:-}" && -f "$PACKAGES_DIR/$slug.zip" ]]; then
    ZIP=$PACKAGES_DIR/$slug.zip # fetched and checked by fetch-packages.sh (the Job's init container)
  else
    fetch_package "$slug" "$source"
  fi
  log "installing $kind $slug $version${current:+ (replacing $current)}"
  run_wp "$kind" install "$ZIP" --force
  INSTALLED=1
}

http_code() { # PATH [BODY_FILE]: status code of the storefront through the in-cluster Service
  curl -sS -o "${2:-/dev/null}" -w '%{http_code}' --max-time 30 \
    -H "Host: $STORE_HOST" -H "X-Forwarded-Proto: $SCHEME" "$WEB_SERVICE_URL$1"
}

# A pod can be Ready while WordPress redirects to install.php: only a 200 counts.
storefront_answers() { # PATH
  local deadline=$((SECONDS + HTTP_WAIT_TIMEOUT)) code=""
  while :; do
    if code=$(http_code "$1" "$WORK/body") && [[ "$code" == 200 ]]; then
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
  step verify
  local failed=() path
  log "verifying the store"
  if wp eval-file "$SCRIPTS_DIR/verify.php" >"$WORK/out" 2>"$WORK/err"; then
    sed 's/^/  /' "$WORK/out" >&2
  else
    sed 's/^/  /' "$WORK/out" "$WORK/err" >&2
    # verify.php prints "FAILED: NAME: why" for each failed check.
    mapfile -t failed < <(sed -n 's/^FAILED: \([a-z_]*\).*/\1/p' "$WORK/out")
    ((${#failed[@]})) || failed=("$(last_error "$WORK/err" "$WORK/out")")
  fi
  for path in / /wp-json/wc/store/v1/products; do
    if storefront_answers "$path"; then
      log "ok: GET $path answers 200"
    else
      log "FAILED: GET $path does not answer 200"
      failed+=("GET $path")
      continue
    fi
    # The home page is the shop: it lists the products (WooCommerce's product loop).
    if [[ "$path" == / ]]; then
      if grep -q 'class="products' "$WORK/body"; then
        log "ok: the home page lists products"
      else
        log "FAILED: the home page lists no products"
        failed+=("home page products")
      fi
    fi
  done
  if ((${#failed[@]})); then
    local IFS=,
    fail "${#failed[@]} check(s) failed (${failed[*]}): the store is not ready"
  fi
  log "store $WP_URL is ready"
}

main() {
  local started=$SECONDS
  INSTALLED=0
  wait_for_database
  install_wordpress

  step inspect
  run_wp eval-file "$SCRIPTS_DIR/inspect.php"
  cp "$WORK/out" "$WORK/inspect"

  step install-plugins
  ensure_installed plugin woocommerce "$WC_VERSION" "$WC_PACKAGE"
  step install-theme
  ensure_installed theme storefront "$STOREFRONT_VERSION" "$STOREFRONT_PACKAGE"

  step activate
  if ((INSTALLED)) || grep -q ' inactive$' "$WORK/inspect"; then
    run_wp eval-file "$SCRIPTS_DIR/activate.php"
  else
    log "WooCommerce and Storefront are active"
  fi

  step configure
  run_wp --user="$ADMIN_USER" eval-file "$SCRIPTS_DIR/configure.php"

  verify
  log "done in $((SECONDS - started))s"
}

main "$@"
