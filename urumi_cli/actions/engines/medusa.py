"""Medusa: the Medusa server + PostgreSQL + Redis, seeded by a setup Job."""

from urumi_cli.actions.engines import BackupSpec, DatabaseSpec, EngineSpec, FilesSpec, key, token


def credentials(name: str, domain: str) -> dict[str, str]:
    return {"admin-password": token(), "admin-username": f"admin@{name}.{domain}", "postgres-password": token(),
            "jwt-secret": key(), "cookie-secret": key()}


# The chart's POSTGRES_USER / POSTGRES_DB. pg_dump and psql connect over the container's local
# socket, which the image's initdb trusts (--auth-local=trust): no password crosses at all.
_CONNECT = ("--username=medusa", "--dbname=medusa", "--no-password")

BACKUP = BackupSpec(
    database=DatabaseSpec(
        component="database", container="postgres",
        # --clean --if-exists: the dump drops what it recreates, so it loads over a migrated store.
        dump=("pg_dump", *_CONNECT, "--clean", "--if-exists", "--no-owner", "--no-privileges"),
        load=((("psql", *_CONNECT, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction"),
               "dump"),),
    ),
    # Medusa's local file provider writes uploads to static/ under the server directory, which is
    # the container's workingDir (its path depends on the build, see the chart's medusa.serverDir).
    files=FilesSpec(component="web", container="medusa", directory="static"),
)

ENGINE = EngineSpec(name="medusa", description="Medusa server + PostgreSQL + Redis", credentials=credentials,
                    admin_path="app", components=("database", "cache", "web", "setup"), backup=BACKUP,
                    versions={"medusa": "setup.medusaVersion", "node": "web.image.tag",
                              "postgres": "database.image.tag", "redis": "cache.image.tag"})
