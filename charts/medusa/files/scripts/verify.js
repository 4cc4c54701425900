// Check the end state of the store (run by setup.sh with `medusa exec`): the region, the
// shipping option, the publishable key, every sample product, and the admin login exist.
// Throws (so `medusa exec` exits 1) listing everything that is missing.
// Environment: SEED_FILE, ADMIN_EMAIL.
const fs = require("fs")
const { ContainerRegistrationKeys, Modules } = require("@medusajs/framework/utils")

exports.default = async function verify({ container }) {
  const seed = JSON.parse(fs.readFileSync(process.env.SEED_FILE, "utf8"))
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const missing = []

  const regions = await container.resolve(Modules.REGION).listRegions({ name: seed.region.name })
  if (!regions.length) missing.push(`region ${seed.region.name}`)

  const options = await container.resolve(Modules.FULFILLMENT).listShippingOptions({})
  if (!options.length) missing.push("a shipping option")

  const { data: keys } = await query.graph({
    entity: "api_key",
    fields: ["id", "sales_channels.id"],
    filters: { type: "publishable" },
  })
  if (!keys.some((k) => (k.sales_channels || []).length)) {
    missing.push("a publishable API key with a sales channel")
  }

  const productService = container.resolve(Modules.PRODUCT)
  for (const product of seed.products) {
    const found = await productService.listProducts(
      { handle: product.handle, status: "published" },
      { relations: ["variants"] }
    )
    if (!found.length || !found[0].variants.some((v) => v.sku === product.sku)) {
      missing.push(`published product ${product.handle} (${product.sku})`)
    }
  }
  if (!seed.products.length) missing.push("sample products")

  const email = process.env.ADMIN_EMAIL
  const users = await container.resolve(Modules.USER).listUsers({ email })
  const logins = await container
    .resolve(Modules.AUTH)
    .listProviderIdentities({ entity_id: email, provider: "emailpass" })
  if (!users.length || !logins.length) missing.push(`admin login ${email}`)

  if (missing.length) {
    throw new Error(`store is incomplete, missing: ${missing.join("; ")}`)
  }
  logger.info("verify: region, shipping, publishable key, products and admin login are present")
}
