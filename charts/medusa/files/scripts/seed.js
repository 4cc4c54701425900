// Seed a Medusa store, idempotently (run by setup.sh with `medusa exec` on every Helm revision):
// store currencies and default sales channel, one region with tax regions, a stock location with
// manual fulfillment and a shipping option, a publishable API key, and sample products.
// Everything is looked up first and created only when missing. Local data only (no images).
//
// Environment: SEED_FILE (JSON: {region: {name, currency, countries}, products: [...]}),
// PUBLISHABLE_KEY_FILE (where to write the publishable API key for the HTTP checks).
const fs = require("fs")
const { ContainerRegistrationKeys, Modules, ProductStatus } = require("@medusajs/framework/utils")
const {
  createApiKeysWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createSalesChannelsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  createTaxRegionsWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateStoresWorkflow,
} = require("@medusajs/medusa/core-flows")

const SALES_CHANNEL = "Default Sales Channel"
const LOCATION = "Main Warehouse"
const FULFILLMENT_SET = "Main Warehouse delivery"
const SHIPPING_OPTION = "Standard Shipping"

exports.default = async function seed({ container }) {
  const seed = JSON.parse(fs.readFileSync(process.env.SEED_FILE, "utf8"))
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const link = container.resolve(ContainerRegistrationKeys.LINK)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const storeService = container.resolve(Modules.STORE)
  const salesChannelService = container.resolve(Modules.SALES_CHANNEL)
  const regionService = container.resolve(Modules.REGION)
  const taxService = container.resolve(Modules.TAX)
  const stockLocationService = container.resolve(Modules.STOCK_LOCATION)
  const fulfillmentService = container.resolve(Modules.FULFILLMENT)
  const productService = container.resolve(Modules.PRODUCT)
  const currency = seed.region.currency.toLowerCase()
  const countries = seed.region.countries.map((c) => c.toLowerCase())

  const [store] = await storeService.listStores()

  let [salesChannel] = await salesChannelService.listSalesChannels({ name: SALES_CHANNEL })
  if (!salesChannel) {
    const { result } = await createSalesChannelsWorkflow(container).run({
      input: { salesChannelsData: [{ name: SALES_CHANNEL }] },
    })
    salesChannel = result[0]
    logger.info(`created sales channel ${salesChannel.id}`)
  }
  await updateStoresWorkflow(container).run({
    input: {
      selector: { id: store.id },
      update: {
        name: seed.storeName,
        supported_currencies: [{ currency_code: currency, is_default: true }],
        default_sales_channel_id: salesChannel.id,
      },
    },
  })

  let [region] = await regionService.listRegions({ name: seed.region.name })
  if (!region) {
    const { result } = await createRegionsWorkflow(container).run({
      input: {
        regions: [
          {
            name: seed.region.name,
            currency_code: currency,
            countries,
            payment_providers: ["pp_system_default"],
          },
        ],
      },
    })
    region = result[0]
    logger.info(`created region ${region.id}`)
  }

  const taxRegions = await taxService.listTaxRegions({ country_code: countries })
  const missingTax = countries.filter((c) => !taxRegions.some((t) => t.country_code === c))
  if (missingTax.length) {
    await createTaxRegionsWorkflow(container).run({
      input: missingTax.map((country_code) => ({ country_code, provider_id: "tp_system" })),
    })
    logger.info(`created tax regions ${missingTax.join(", ")}`)
  }

  let [location] = await stockLocationService.listStockLocations({ name: LOCATION })
  if (!location) {
    const { result } = await createStockLocationsWorkflow(container).run({
      input: {
        locations: [{ name: LOCATION, address: { city: "", country_code: countries[0], address_1: "" } }],
      },
    })
    location = result[0]
    logger.info(`created stock location ${location.id}`)
  }
  await updateStoresWorkflow(container).run({
    input: { selector: { id: store.id }, update: { default_location_id: location.id } },
  })

  const {
    data: [locationLinks],
  } = await query.graph({
    entity: "stock_location",
    fields: ["id", "fulfillment_providers.id", "fulfillment_sets.id", "sales_channels.id"],
    filters: { id: location.id },
  })
  if (!(locationLinks.fulfillment_providers || []).some((p) => p && p.id === "manual_manual")) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_provider_id: "manual_manual" },
    })
  }

  let [profile] = await fulfillmentService.listShippingProfiles({ type: "default" })
  if (!profile) {
    const { result } = await createShippingProfilesWorkflow(container).run({
      input: { data: [{ name: "Default Shipping Profile", type: "default" }] },
    })
    profile = result[0]
  }

  let [fulfillmentSet] = await fulfillmentService.listFulfillmentSets(
    { name: FULFILLMENT_SET },
    { relations: ["service_zones"] }
  )
  if (!fulfillmentSet) {
    fulfillmentSet = await fulfillmentService.createFulfillmentSets({
      name: FULFILLMENT_SET,
      type: "shipping",
      service_zones: [
        {
          name: seed.region.name,
          geo_zones: countries.map((country_code) => ({ country_code, type: "country" })),
        },
      ],
    })
    logger.info(`created fulfillment set ${fulfillmentSet.id}`)
  }
  if (!(locationLinks.fulfillment_sets || []).some((s) => s && s.id === fulfillmentSet.id)) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_set_id: fulfillmentSet.id },
    })
  }

  const serviceZone = fulfillmentSet.service_zones[0]
  const [shippingOption] = await fulfillmentService.listShippingOptions({
    name: SHIPPING_OPTION,
    service_zone_id: serviceZone.id,
  })
  if (!shippingOption) {
    await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: SHIPPING_OPTION,
          price_type: "flat",
          provider_id: "manual_manual",
          service_zone_id: serviceZone.id,
          shipping_profile_id: profile.id,
          type: { label: "Standard", description: "Ship in 2-3 days.", code: "standard" },
          prices: [
            { currency_code: currency, amount: seed.shippingPrice },
            { region_id: region.id, amount: seed.shippingPrice },
          ],
          rules: [
            { attribute: "enabled_in_store", value: "true", operator: "eq" },
            { attribute: "is_return", value: "false", operator: "eq" },
          ],
        },
      ],
    })
    logger.info("created shipping option")
  }

  if (!(locationLinks.sales_channels || []).some((c) => c && c.id === salesChannel.id)) {
    await linkSalesChannelsToStockLocationWorkflow(container).run({
      input: { id: location.id, add: [salesChannel.id] },
    })
  }

  const { data: keys } = await query.graph({
    entity: "api_key",
    fields: ["id", "token", "sales_channels.id"],
    filters: { type: "publishable" },
  })
  let key = keys[0]
  if (!key) {
    const { result } = await createApiKeysWorkflow(container).run({
      input: { api_keys: [{ title: "Storefront", type: "publishable", created_by: "" }] },
    })
    key = { ...result[0], sales_channels: [] }
    logger.info(`created publishable API key ${key.id}`)
  }
  if (!(key.sales_channels || []).some((c) => c && c.id === salesChannel.id)) {
    await linkSalesChannelsToApiKeyWorkflow(container).run({
      input: { id: key.id, add: [salesChannel.id] },
    })
  }
  if (process.env.PUBLISHABLE_KEY_FILE) {
    fs.writeFileSync(process.env.PUBLISHABLE_KEY_FILE, key.token, { mode: 0o600 })
  }

  for (const product of seed.products) {
    const existing = await productService.listProducts({ handle: product.handle })
    if (existing.length) {
      logger.info(`product ${product.handle} exists (${existing[0].id})`)
      continue
    }
    await createProductsWorkflow(container).run({
      input: {
        products: [
          {
            title: product.title,
            handle: product.handle,
            description: product.description || "",
            status: ProductStatus.PUBLISHED,
            shipping_profile_id: profile.id,
            options: [{ title: "Default", values: ["Default"] }],
            variants: [
              {
                title: "Default",
                sku: product.sku,
                options: { Default: "Default" },
                // Sample goods are always in stock: no inventory to manage.
                manage_inventory: false,
                prices: [{ amount: product.price, currency_code: currency }],
              },
            ],
            sales_channels: [{ id: salesChannel.id }],
          },
        ],
      },
    })
    logger.info(`created product ${product.handle}`)
  }
  logger.info("seed complete")
}
