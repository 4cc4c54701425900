"""Medusa: the Medusa server + PostgreSQL + Redis, seeded by a setup Job."""

from urumi_cli.actions.engines import EngineSpec, key, token


def credentials(name: str, domain: str) -> dict[str, str]:
    return {"admin-password": token(), "admin-username": f"admin@{name}.{domain}", "postgres-password": token(),
            "jwt-secret": key(), "cookie-secret": key()}


ENGINE = EngineSpec(name="medusa", description="Medusa server + PostgreSQL + Redis", credentials=credentials,
                    admin_path="app", components=("database", "cache", "web", "setup"),
                    versions={"medusa": "setup.medusaVersion", "node": "web.image.tag",
                              "postgres": "database.image.tag", "redis": "cache.image.tag"})
