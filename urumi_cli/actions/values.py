"""The values files of a create: the generated one (no secret in it), and the user's -f files,
kept in a Secret of the store's namespace so a retry without -f applies them again."""

from __future__ import annotations

from pathlib import Path

from urumi_cli.actions.contract import SECRET_NAME, USER_VALUES_SECRET
from urumi_cli.errors import UsageError


def generated_values(name: str, domain: str) -> str:
    import yaml

    # No secret in here: only the name of the Secret urumi created in the namespace.
    values = {"store": {"name": name}, "domain": domain, "existingSecret": SECRET_NAME}
    return yaml.safe_dump(values, sort_keys=False)


def read_user_values(paths: tuple[str, ...]) -> dict[str, str]:
    data = {}
    for i, path in enumerate(paths):
        try:
            data[f"{i:02d}.yaml"] = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"cannot read values file {path}: {err}", "pass a readable YAML file") from None
    return data


def saved_user_values(kube, namespace: str, folder: Path) -> list[str]:
    """The -f files of an earlier create, written to `folder` in their original order."""
    saved = kube.read_secret(namespace, USER_VALUES_SECRET) or {}
    paths = []
    for key in sorted(saved):
        path = folder / f"user-{key}"
        path.write_text(saved[key])
        paths.append(str(path))
    return paths
