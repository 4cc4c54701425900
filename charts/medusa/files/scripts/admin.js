// Create the Medusa admin user unless it exists (run by setup.sh with `medusa exec`).
// `medusa user` fails when the e-mail is taken, which is the normal case on every later Helm
// revision; this does what it does (user + emailpass identity, super admin role when RBAC is on)
// but only for the parts that are missing.
// Environment: ADMIN_EMAIL, ADMIN_PASSWORD.
const { ContainerRegistrationKeys, FeatureFlag, Modules } = require("@medusajs/framework/utils")
const { createUsersWorkflow } = require("@medusajs/medusa/core-flows")

exports.default = async function admin({ container }) {
  const email = process.env.ADMIN_EMAIL
  const password = process.env.ADMIN_PASSWORD
  if (!email || !password) {
    throw new Error("ADMIN_EMAIL and ADMIN_PASSWORD are required")
  }
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const userService = container.resolve(Modules.USER)
  const authService = container.resolve(Modules.AUTH)

  let [user] = await userService.listUsers({ email })
  if (!user) {
    let roles = []
    if (FeatureFlag.isFeatureEnabled("rbac")) {
      const rbac = container.resolve(Modules.RBAC)
      roles = (await rbac.listRbacRoles({ id: "role_super_admin" })).map((r) => r.id)
    }
    const { result } = await createUsersWorkflow(container).run({
      input: { users: [{ email, roles }] },
    })
    user = result[0]
    logger.info(`created admin user ${email}`)
  }

  const identities = await authService.listProviderIdentities({
    entity_id: email,
    provider: "emailpass",
  })
  if (identities.length) {
    logger.info(`admin user ${email} can log in`)
    return
  }
  const { authIdentity, error } = await authService.register("emailpass", {
    body: { email, password },
  })
  if (error) {
    throw new Error(`registering the admin login failed: ${error}`)
  }
  await authService.updateAuthIdentities({
    id: authIdentity.id,
    app_metadata: { user_id: user.id },
  })
  logger.info(`admin login registered for ${email}`)
}
