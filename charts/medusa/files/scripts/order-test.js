// helm test: place an order through the Medusa Store API (cart -> line item -> address ->
// shipping -> payment session with the system "manual" provider, Medusa's pay-on-delivery ->
// complete), then find the order through the Admin API. Node's standard library only.
//
// Environment: WEB_SERVICE_URL (in-cluster Medusa Service), STORE_HOST (sent as Host header),
// ADMIN_EMAIL, ADMIN_PASSWORD (the admin login from the store's Secret).
const http = require("http")
const https = require("https")

const base = new URL(process.env.WEB_SERVICE_URL)
const host = process.env.STORE_HOST
const TIMEOUT_MS = 60000

function fail(message) {
  process.stderr.write(`[order-test] FAILED: ${message}\n`)
  process.exit(1)
}

function log(message) {
  process.stdout.write(`[order-test] ${message}\n`)
}

// request(method, path, body, headers) -> parsed JSON; anything but 2xx fails the test.
function request(method, path, body, headers = {}) {
  const url = new URL(path, base)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const client = url.protocol === "https:" ? https : http
  return new Promise((resolve) => {
    const req = client.request(
      url,
      {
        method,
        timeout: TIMEOUT_MS,
        headers: {
          Host: host,
          Accept: "application/json",
          ...(payload ? { "Content-Type": "application/json" } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (text += chunk))
        res.on("end", () => {
          if (res.statusCode < 200 || res.statusCode > 299) {
            fail(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 600)}`)
          }
          try {
            resolve(text ? JSON.parse(text) : {})
          } catch (err) {
            fail(`${method} ${path} did not answer JSON: ${text.slice(0, 200)}`)
          }
        })
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (err) => fail(`${method} ${path}: ${err.message}`))
    if (payload) req.write(payload)
    req.end()
  })
}

async function main() {
  const { token } = await request("POST", "/auth/user/emailpass", {
    email: process.env.ADMIN_EMAIL,
    password: process.env.ADMIN_PASSWORD,
  })
  if (!token) fail("admin login returned no token")
  const admin = { Authorization: `Bearer ${token}` }

  const { api_keys: keys } = await request("GET", "/admin/api-keys?type=publishable", undefined, admin)
  const key = (keys || []).find((k) => !k.revoked_at)
  if (!key) fail("the store has no publishable API key")
  const store = { "x-publishable-api-key": key.token }

  const { regions } = await request("GET", "/store/regions", undefined, store)
  const region = (regions || []).find((r) => (r.countries || []).length)
  if (!region) fail("the store has no region with countries")
  const country = region.countries[0].iso_2

  const { products } = await request(
    "GET",
    `/store/products?limit=1&region_id=${region.id}&fields=*variants.calculated_price`,
    undefined,
    store
  )
  const variant = products && products[0] && products[0].variants[0]
  if (!variant) fail("the store lists no products")
  log(`ordering ${products[0].handle} (variant ${variant.id}) in region ${region.name}`)

  let { cart } = await request("POST", "/store/carts", { region_id: region.id }, store)
  const cartPath = `/store/carts/${cart.id}`
  await request("POST", `${cartPath}/line-items`, { variant_id: variant.id, quantity: 1 }, store)
  const address = {
    first_name: "Helm",
    last_name: "Test",
    address_1: "1 Test Street",
    city: "Testville",
    postal_code: "12345",
    country_code: country,
    phone: "5550100",
  }
  await request(
    "POST",
    cartPath,
    { email: "helm-test@example.com", shipping_address: address, billing_address: address },
    store
  )

  const { shipping_options: options } = await request(
    "GET",
    `/store/shipping-options?cart_id=${cart.id}`,
    undefined,
    store
  )
  if (!options || !options.length) fail(`no shipping option for ${country}`)
  await request("POST", `${cartPath}/shipping-methods`, { option_id: options[0].id }, store)

  const { payment_collection: collection } = await request(
    "POST",
    "/store/payment-collections",
    { cart_id: cart.id },
    store
  )
  await request(
    "POST",
    `/store/payment-collections/${collection.id}/payment-sessions`,
    { provider_id: "pp_system_default" },
    store
  )

  const completed = await request("POST", `${cartPath}/complete`, undefined, store)
  if (completed.type !== "order" || !completed.order) {
    fail(`the cart did not become an order: ${JSON.stringify(completed).slice(0, 600)}`)
  }
  const orderId = completed.order.id
  log(`placed order ${orderId} (display id ${completed.order.display_id})`)

  const { order } = await request("GET", `/admin/orders/${orderId}`, undefined, admin)
  if (!order || order.id !== orderId) fail(`order ${orderId} is not visible to the admin`)
  log(`ok: order ${orderId} is in the admin (status ${order.status})`)
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)))
