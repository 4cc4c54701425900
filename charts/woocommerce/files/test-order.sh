#!/usr/bin/env bash
# helm test: place a cash-on-delivery order as a guest through the WooCommerce Store API
# (cart nonce -> add item -> checkout), then read the order back. Talks to the in-cluster
# WordPress Service with the store's Host header.
set -Eeuo pipefail
: "${WEB_SERVICE_URL:?WEB_SERVICE_URL is required}"
: "${STORE_HOST:?STORE_HOST is required}"
SCHEME=${SCHEME:-http}
API="$WEB_SERVICE_URL/wp-json/wc/store/v1"
EMAIL=${ORDER_TEST_EMAIL:-helm-test@example.com}
WORK=$(mktemp -d)
NONCE=""
CART_TOKEN=""

log() { printf '[order-test] %s\n' "$*" >&2; }
die() {
  printf '[order-test] FAILED: %s\n' "$*" >&2
  exit 1
}

# request METHOD PATH [JSON]: prints the response body; any status but 2xx fails the test.
request() {
  local method=$1 path=$2 body=${3:-} code
  local args=(-sS --max-time 60 -X "$method" -b "$WORK/cookies" -c "$WORK/cookies"
    -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}'
    -H "Host: $STORE_HOST" -H "X-Forwarded-Proto: $SCHEME" -H 'Accept: application/json')
  if [[ -n "$NONCE" ]]; then args+=(-H "Nonce: $NONCE"); fi
  if [[ -n "$CART_TOKEN" ]]; then args+=(-H "Cart-Token: $CART_TOKEN"); fi
  if [[ -n "$body" ]]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  if ! code=$(curl "${args[@]}" "$API$path"); then
    die "$method $path: no answer from $WEB_SERVICE_URL"
  fi
  if [[ "$code" != 2?? ]]; then
    die "$method $path answered $code: $(head -c 600 "$WORK/body")"
  fi
  cat "$WORK/body"
}

# header NAME: the last value of a response header of the previous request.
header() { sed -n "s/^$1:[[:space:]]*//Ip" "$WORK/headers" | tr -d '\r' | tail -n 1; }

# json PATH: a value from the JSON document on stdin, e.g. "0.id" or "payment_result.payment_status".
json() {
  # shellcheck disable=SC2016 # PHP code, not shell
  php -r '
    $data = json_decode(stream_get_contents(STDIN), true);
    foreach (explode(".", $argv[1]) as $key) {
      if (!is_array($data) || !array_key_exists($key, $data)) { exit(1); }
      $data = $data[$key];
    }
    echo is_scalar($data) ? $data : json_encode($data);' "$1"
}

# json_count: the number of elements of the JSON array on stdin.
json_count() {
  # shellcheck disable=SC2016 # PHP code, not shell
  php -r '$d = json_decode(stream_get_contents(STDIN), true); if (!is_array($d)) { exit(1); } echo count($d);'
}

products=$(request GET "/products?per_page=1")
product_id=$(json 0.id <<<"$products") || die "the store lists no products"
product_sku=$(json 0.sku <<<"$products") || product_sku=""
product_link=$(json 0.permalink <<<"$products") || product_link=""
log "adding product #$product_id (${product_sku:-no SKU}) to a new cart"

request GET /cart >/dev/null
NONCE=$(header nonce)
CART_TOKEN=$(header cart-token)
[[ -n "$NONCE" ]] || die "GET /cart sent no Nonce header"

request POST /cart/add-item "{\"id\": $product_id, \"quantity\": 1}" >/dev/null
NONCE=$(header nonce)

address='"first_name": "Helm", "last_name": "Test", "address_1": "1 Test Street",
  "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US", "phone": "5550100"'
checkout=$(request POST /checkout "{
  \"billing_address\": {$address, \"email\": \"$EMAIL\"},
  \"shipping_address\": {$address},
  \"payment_method\": \"cod\"
}")
order_id=$(json order_id <<<"$checkout") || die "checkout returned no order id: $checkout"
order_key=$(json order_key <<<"$checkout") || die "checkout returned no order key"
method=$(json payment_method <<<"$checkout") || method=missing
[[ "$method" == cod ]] || die "order #$order_id: payment method is $method, not cod"
payment=$(json payment_result.payment_status <<<"$checkout") || payment=missing
[[ "$payment" == success ]] || die "order #$order_id: payment status is $payment, not success"
log "placed order #$order_id (status $(json status <<<"$checkout"))"

# The order as the shop keeps it (what the WooCommerce admin lists).
order=$(request GET "/order/$order_id?key=$order_key&billing_email=${EMAIL/@/%40}")
[[ "$(json id <<<"$order")" == "$order_id" ]] || die "order #$order_id cannot be read back"
# An order item's "id" is the order item's own id (the cart's items carry the product id): the
# item is recognised by the product's SKU, or its permalink when it has no SKU.
if [[ -n "$product_sku" ]]; then
  key=sku wanted=$product_sku
else
  key=permalink wanted=$product_link
fi
item_count=$(json items <<<"$order" | json_count) || item_count=0
found=""
for ((i = 0; i < item_count; i++)); do
  if [[ "$(json "items.$i.$key" <<<"$order")" == "$wanted" ]]; then
    found=$i
    break
  fi
done
[[ -n "$found" ]] || die "order #$order_id does not contain product #$product_id ($key $wanted)"
quantity=$(json "items.$found.quantity" <<<"$order") || quantity=missing
[[ "$quantity" == 1 ]] || die "order #$order_id: product #$product_id quantity is $quantity, not 1"
log "ok: order #$order_id exists ($(json status <<<"$order")), paid by cash on delivery"
