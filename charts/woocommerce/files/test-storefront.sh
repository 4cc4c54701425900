#!/usr/bin/env bash
# helm test: the storefront, the shop page and the cart answer 200 through the in-cluster
# WordPress Service with the store's Host header (a redirect to install.php is a failure), and
# the home page (the shop page, set as the static front page) lists products.
# Not /checkout/: with an empty cart WooCommerce redirects it to the cart (the order test covers it).
set -Eeuo pipefail
: "${WEB_SERVICE_URL:?WEB_SERVICE_URL is required}"
: "${STORE_HOST:?STORE_HOST is required}"
SCHEME=${SCHEME:-http}
BODY=$(mktemp)

failed=0
for path in / /shop/ /cart/; do
  code=$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 30 \
    -H "Host: $STORE_HOST" -H "X-Forwarded-Proto: $SCHEME" "$WEB_SERVICE_URL$path") || code=${code:-000}
  if [[ "$code" != 200 ]]; then
    printf '[storefront-test] FAILED: GET %s (Host: %s) -> %s\n' "$path" "$STORE_HOST" "$code" >&2
    failed=1
  elif [[ "$path" == / ]] && ! grep -q 'class="products' "$BODY"; then
    # WooCommerce's product loop: <ul class="products columns-N">
    printf '[storefront-test] FAILED: GET / (Host: %s) -> 200 but the home page lists no products\n' "$STORE_HOST" >&2
    failed=1
  else
    printf '[storefront-test] ok: GET %s -> 200\n' "$path"
  fi
done
exit "$failed"
