"""WooCommerce: WordPress + MariaDB + a setup Job that makes the store take a COD order."""

from urumi_cli.actions.engines import EngineSpec, key, token

WORDPRESS_KEYS = ("auth-key", "secure-auth-key", "logged-in-key", "nonce-key",
                  "auth-salt", "secure-auth-salt", "logged-in-salt", "nonce-salt")


def credentials(name: str, domain: str) -> dict[str, str]:
    # Salts and passwords are generated once and kept in the Secret: a new salt on an upgrade
    # would log everybody out, a new database password would lock WordPress out of MariaDB.
    return {"admin-password": token(), "admin-username": "admin", "db-password": token(),
            "db-root-password": token(), **{k: key() for k in WORDPRESS_KEYS}}


ENGINE = EngineSpec(name="woocommerce", description="WordPress + WooCommerce + MariaDB", credentials=credentials,
                    admin_path="wp-admin/", components=("database", "web", "setup"), rank=0,
                    versions={"woocommerce": "setup.woocommerceVersion", "storefront": "setup.storefrontVersion",
                              "wordpress": "web.image.tag", "mariadb": "database.image.tag"})
