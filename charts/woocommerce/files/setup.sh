#!/usr/bin/env bash
# Set up a WooCommerce store with wp-cli, then verify that it can take an order.
#
# Runs in the setup Job (official wordpress:cli image, as uid/gid 33 like the Apache image) with
# WordPress core in the current directory and wp-content on the store's volume. Every step is
# idempotent: a new Job runs on each `helm upgrade`. The script exits non-zero when any step
# fails or when the final verification finds something missing; it never reports a half-made
# store as done.
#
# Environment (set by templates/setup-job.yaml):
#   WP_URL                exact store URL, e.g. http://shop.localhost (WordPress home/siteurl)
#   STORE_HOST            host part of WP_URL, sent as Host header by the HTTP checks
#   WEB_SERVICE_URL       in-cluster WordPress Service, e.g. http://shop-wordpress
#   STORE_TITLE           shop title
#   ADMIN_USER ADMIN_PASSWORD ADMIN_EMAIL   WordPress administrator
#   WC_VERSION STOREFRONT_VERSION           pinned WooCommerce plugin and Storefront theme
#   STORE_CURRENCY STORE_COUNTRY            WooCommerce currency and base location
#   SCRIPTS_DIR           where db-ping.php and products.tsv are (default /urumi)
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
STORE_TITLE=${STORE_TITLE:-$STORE_HOST}
STORE_CURRENCY=${STORE_CURRENCY:-USD}
STORE_COUNTRY=${STORE_COUNTRY:-US:CA}
SCRIPTS_DIR=${SCRIPTS_DIR:-/urumi}
DB_WAIT_TIMEOUT=${DB_WAIT_TIMEOUT:-600}
DB_WAIT_INTERVAL=${DB_WAIT_INTERVAL:-5}
HTTP_WAIT_TIMEOUT=${HTTP_WAIT_TIMEOUT:-600}
HTTP_WAIT_INTERVAL=${HTTP_WAIT_INTERVAL:-5}
SCHEME=${WP_URL%%://*}

log() { printf '[setup] %s\n' "$*" >&2; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# WooCommerce's CLI commands go through its REST API and need a user with the capabilities.
wpa() { wp --user="$ADMIN_USER" "$@"; }

wait_for_database() {
  local deadline=$((SECONDS + DB_WAIT_TIMEOUT)) err
  log "waiting up to ${DB_WAIT_TIMEOUT}s for the database"
  until err=$(wp eval-file "$SCRIPTS_DIR/db-ping.php" --skip-wordpress 2>&1); do
    if ((SECONDS >= deadline)); then
      die "the database did not accept connections within ${DB_WAIT_TIMEOUT}s: ${err:-no answer}"
    fi
    sleep "$DB_WAIT_INTERVAL"
  done
  log "database is up"
}

install_wordpress() {
  if wp core is-installed; then
    log "WordPress is already installed"
  else
    log "installing WordPress at $WP_URL"
    wp core install --url="$WP_URL" --title="$STORE_TITLE" --admin_user="$ADMIN_USER" \
      --admin_password="$ADMIN_PASSWORD" --admin_email="$ADMIN_EMAIL" --skip-email
  fi
  # The URL is stored at install time; keep it exact when the host changes on upgrade.
  wp option update home "$WP_URL"
  wp option update siteurl "$WP_URL"
}

# ensure_extension plugin|theme SLUG VERSION: installed at exactly VERSION, and active.
ensure_extension() {
  local kind=$1 slug=$2 version=$3 current=""
  if wp "$kind" is-installed "$slug"; then
    current=$(wp "$kind" get "$slug" --field=version)
  fi
  if [[ "$current" != "$version" ]]; then
    log "installing $kind $slug $version${current:+ (replacing $current)}"
    wp "$kind" install "$slug" --version="$version" --force
  fi
  if wp "$kind" is-active "$slug"; then
    log "$kind $slug $version is active"
  else
    wp "$kind" activate "$slug"
  fi
}

configure_store() {
  log "configuring WooCommerce"
  # Database migrations of the installed WooCommerce version (no-op when up to date).
  wp wc update
  wp option update woocommerce_currency "$STORE_CURRENCY"
  wp option update woocommerce_default_country "$STORE_COUNTRY"
  # New installs start in "coming soon" mode, where shoppers see a placeholder page.
  wp option update woocommerce_coming_soon no
  wp option update woocommerce_store_pages_only no
  wp option update woocommerce_enable_guest_checkout yes
  # Orders are paid on delivery and no shipping rates are configured: ship-to is off, so the
  # checkout does not ask for a shipping method. Store owners can turn shipping on later.
  wp option update woocommerce_ship_to_countries disabled
  wp option update woocommerce_allow_tracking no
  wp option update woocommerce_show_marketplace_suggestions no
  wp option update woocommerce_onboarding_profile '{"skipped":true}' --format=json
  # Shop, cart, checkout and my-account pages (existing ones are kept).
  wpa wc tool run install_pages
  wp rewrite structure '/%postname%/'
  wp rewrite flush
  wpa wc payment_gateway update cod --enabled=true
}

# product_id SKU: the id of the product with this SKU, empty when there is none.
product_id() { wpa wc product list --sku="$1" --field=id; }

seed_products() {
  local sku name price description id
  while IFS=$'\t' read -r -u 3 sku name price description; do
    [[ -z "$sku" || "$sku" == \#* ]] && continue
    id=$(product_id "$sku")
    if [[ -n "$id" ]]; then
      log "product $sku exists (#$id)"
      continue
    fi
    id=$(wpa wc product create --name="$name" --sku="$sku" --regular_price="$price" \
      --description="$description" --type=simple --status=publish --porcelain)
    log "created product $sku (#$id)"
  done 3<"$SCRIPTS_DIR/products.tsv"
}

http_code() { # PATH: status code of the storefront through the in-cluster Service
  curl -sS -o /dev/null -w '%{http_code}' --max-time 30 \
    -H "Host: $STORE_HOST" -H "X-Forwarded-Proto: $SCHEME" "$WEB_SERVICE_URL$1"
}

# A pod can be Ready while WordPress redirects to install.php: only a 200 counts.
storefront_answers() { # PATH
  local deadline=$((SECONDS + HTTP_WAIT_TIMEOUT)) code=""
  while :; do
    if code=$(http_code "$1") && [[ "$code" == 200 ]]; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "GET $1 (Host: $STORE_HOST) answered ${code:-nothing} for ${HTTP_WAIT_TIMEOUT}s"
      return 1
    fi
    sleep "$HTTP_WAIT_INTERVAL"
  done
}

woocommerce_active() {
  wp plugin is-active woocommerce &&
    [[ "$(wp plugin get woocommerce --field=version)" == "$WC_VERSION" ]]
}
storefront_active() { wp theme is-active storefront; }
home_is_exact() { [[ "$(wp option get home)" == "$WP_URL" && "$(wp option get siteurl)" == "$WP_URL" ]]; }
cod_enabled() { [[ "$(wp option pluck woocommerce_cod_settings enabled)" == yes ]]; }
guest_checkout() { [[ "$(wp option get woocommerce_enable_guest_checkout)" == yes ]]; }
not_coming_soon() { [[ "$(wp option get woocommerce_coming_soon)" == no ]]; }

pages_published() {
  local page id
  for page in shop cart checkout myaccount; do
    id=$(wp option get "woocommerce_${page}_page_id")
    [[ "$id" =~ ^[1-9][0-9]*$ ]] || return 1
    [[ "$(wp post get "$id" --field=post_status)" == publish ]] || return 1
  done
}

products_exist() {
  local sku _rest found=0
  while IFS=$'\t' read -r -u 3 sku _rest; do
    [[ -z "$sku" || "$sku" == \#* ]] && continue
    [[ -n "$(product_id "$sku")" ]] || return 1
    found=$((found + 1))
  done 3<"$SCRIPTS_DIR/products.tsv"
  ((found > 0))
}

verify() {
  local failed=0 check path
  log "verifying the store"
  for check in woocommerce_active storefront_active home_is_exact cod_enabled guest_checkout \
    not_coming_soon pages_published products_exist; do
    if "$check"; then
      log "ok: $check"
    else
      log "FAILED: $check"
      failed=$((failed + 1))
    fi
  done
  for path in / /wp-json/wc/store/v1/products; do
    if storefront_answers "$path"; then
      log "ok: GET $path answers 200"
    else
      log "FAILED: GET $path does not answer 200"
      failed=$((failed + 1))
    fi
  done
  ((failed == 0)) || die "$failed check(s) failed: the store is not ready"
  log "store $WP_URL is ready"
}

main() {
  wait_for_database
  install_wordpress
  ensure_extension plugin woocommerce "$WC_VERSION"
  ensure_extension theme storefront "$STOREFRONT_VERSION"
  configure_store
  seed_products
  verify
}

main "$@"
