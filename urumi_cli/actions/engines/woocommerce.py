"""WooCommerce: WordPress + MariaDB + a setup Job that makes the store take a COD order."""

import hashlib

from urumi_cli.actions.engines import BackupSpec, DatabaseSpec, EngineSpec, FilesSpec, key, token

WORDPRESS_KEYS = ("auth-key", "secure-auth-key", "logged-in-key", "nonce-key",
                  "auth-salt", "secure-auth-salt", "logged-in-salt", "nonce-salt")
# The chart's MARIADB_DATABASE / MARIADB_USER (charts/woocommerce/templates/mariadb.yaml).
DATABASE = "wordpress"
# The dump is staged on MariaDB's own volume (its /tmp is a 256Mi emptyDir), read with SOURCE
# so that the client's stdin stays free for its option file, and removed afterwards.
STAGED_DUMP = "/var/lib/mysql/.urumi-restore.sql"


def credentials(name: str, domain: str) -> dict[str, str]:
    # Salts and passwords are generated once and kept in the Secret: a new salt on an upgrade
    # would log everybody out, a new database password would lock WordPress out of MariaDB.
    return {"admin-password": token(), "admin-username": "admin", "db-password": token(),
            "db-root-password": token(), **{k: key() for k in WORDPRESS_KEYS}}


def _option_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def client_options(secret: dict[str, str]) -> bytes:
    """The [client] option file mariadb and mariadb-dump read from stdin (--defaults-extra-file)."""
    return (f"[client]\nuser={DATABASE}\npassword={_option_value(secret['db-password'])}\n"
            "host=127.0.0.1\nprotocol=TCP\n").encode()


def _sql(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _if_table(table: str, statement: str) -> str:
    """`statement` only if the table exists: a store whose setup never ran has no WordPress tables."""
    return (f"SET @urumi_sql := IF((SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
            f"AND table_name = {_sql(table)}) > 0, {_sql(statement)}, 'DO 0');\n"
            "PREPARE urumi_fixup FROM @urumi_sql;\nEXECUTE urumi_fixup;\nDEALLOCATE PREPARE urumi_fixup;\n")


def after_load(url: str, secret: dict[str, str]) -> str:
    """The restored site answers at its own host, and the admin login is the one in this store's
    Secret (WordPress accepts an MD5 hash and rehashes it at the first login)."""
    home = url.rstrip("/")
    sql = _if_table("wp_options", f"UPDATE wp_options SET option_value = {_sql(home)} "
                                  "WHERE option_name IN ('siteurl', 'home')")
    if secret.get("admin-username") and secret.get("admin-password"):
        digest = hashlib.md5(secret["admin-password"].encode()).hexdigest()
        sql += _if_table("wp_users", f"UPDATE wp_users SET user_pass = {_sql(digest)} "
                                     f"WHERE user_login = {_sql(secret['admin-username'])}")
    return sql


BACKUP = BackupSpec(
    database=DatabaseSpec(
        component="database", container="mariadb",
        # --defaults-extra-file must come first; --single-transaction: a consistent InnoDB snapshot
        # without locking the store; --no-tablespaces: the store's user has no PROCESS privilege.
        dump=("mariadb-dump", "--defaults-extra-file=/dev/stdin", "--single-transaction", "--quick",
              "--no-tablespaces", "--hex-blob", "--default-character-set=utf8mb4", DATABASE),
        dump_stdin="credentials",
        load=((("cp", "/dev/stdin", STAGED_DUMP), "dump"),
              # --abort-source-on-error: without it a failing statement in SOURCE still exits 0
              # (seen on the real MariaDB 10.11 client).
              (("mariadb", "--defaults-extra-file=/dev/stdin", "--batch", "--abort-source-on-error",
                "--default-character-set=utf8mb4", f"--execute=SOURCE {STAGED_DUMP}", DATABASE), "credentials")),
        cleanup=("rm", "-f", STAGED_DUMP),
        credentials=client_options, after_load=after_load,
    ),
    files=FilesSpec(component="web", container="wordpress", directory="uploads", parent="/var/www/html/wp-content"),
)

ENGINE = EngineSpec(name="woocommerce", description="WordPress + WooCommerce + MariaDB", credentials=credentials,
                    admin_path="wp-admin/", components=("database", "web", "setup"), rank=0, backup=BACKUP,
                    versions={"woocommerce": "setup.woocommerceVersion", "storefront": "setup.storefrontVersion",
                              "wordpress": "web.image.tag", "mariadb": "database.image.tag"})
