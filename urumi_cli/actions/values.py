"""The values files of a create: the generated one (no secret in it), and the user's -f files,
kept in a Secret of the store's namespace so a retry without -f applies them again."""

from __future__ import annotations

import re
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


def versions_values(versions: dict[str, str], paths: dict[str, str]) -> dict:
    """`--set-version wordpress=X` as chart values: {"web": {"image": {"tag": "X"}}}."""
    values: dict = {}
    for name, version in versions.items():
        *parents, leaf = paths[name].split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = version
    return values


def merge_values(base: dict, override: dict) -> dict:
    """What helm does with several -f files: maps merge key by key, anything else replaces, and a
    null removes the key."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def merged_files(paths: list[str]) -> dict:
    """The files merged as helm merges them; a UsageError naming the first unreadable one."""
    import os

    import yaml

    from urumi_cli.errors import shown

    merged: dict = {}
    for path in paths:
        if not os.path.isfile(path):  # False, not an exception, for a NUL in the name too
            raise UsageError(f"values file {shown(path)} does not exist or is not a file", "pass a readable YAML file")
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
            reason = shown(str(err).splitlines()[0] if str(err) else type(err).__name__)
            raise UsageError(f"cannot read values file {shown(path)}: {reason}", "pass a readable YAML file") from None
        if not isinstance(data, dict):
            raise UsageError(f"values file {shown(path)} is not a YAML mapping", "write it as key: value lines")
        merged = merge_values(merged, data)
    return merged


def _flat(values: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{path}."))
        else:
            flat[path] = value
    return flat


# A value whose name says it is a credential (a password someone put in a -f file) is shown as
# changed, never printed: secrets reach output only when asked for (`store credentials`).
_SECRET_NAME = re.compile(r"(password|passwd|secret|token|salt|apikey|api_key|privatekey|private_key)$", re.I)
HIDDEN = "(hidden)"


def values_diff(current: dict, proposed: dict) -> list[dict]:
    """Changed leaves as {"key": dotted.path, "current": old or None, "proposed": new or None}."""
    old, new = _flat(current), _flat(proposed)

    def shown(key: str, value):
        return HIDDEN if value is not None and _SECRET_NAME.search(key.rsplit(".", 1)[-1]) else value

    return [{"key": key, "current": shown(key, old.get(key)), "proposed": shown(key, new.get(key))}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


# -- the kept files per revision (store upgrade / rollback) ---------------------------------------
_NONE = "none"  # a revision kept no -f file at all (unlike a revision urumi has no record of)


def revision_user_values(kube, namespace: str, revision: int) -> dict[str, str] | None:
    """The kept -f files as they were at `revision`; None if urumi recorded nothing for it."""
    from urumi_cli.actions.contract import USER_VALUES_HISTORY_SECRET

    history = kube.read_secret(namespace, USER_VALUES_HISTORY_SECRET) or {}
    prefix = f"r{revision}."
    found = {key[len(prefix):]: text for key, text in history.items() if key.startswith(prefix)}
    if not found:
        return None
    found.pop(_NONE, None)
    return found


def record_revision_user_values(kube, namespace: str, name: str, snapshots: dict[int, dict[str, str]],
                                live: set[int]) -> None:
    """Add the kept files of some revisions; forget those of revisions helm no longer has."""
    from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY, USER_VALUES_HISTORY_SECRET

    history = kube.read_secret(namespace, USER_VALUES_HISTORY_SECRET) or {}
    kept = {key: text for key, text in history.items()
            if key.split(".", 1)[0][1:].isdigit() and int(key.split(".", 1)[0][1:]) in live}
    for revision, files in snapshots.items():
        kept = {k: v for k, v in kept.items() if not k.startswith(f"r{revision}.")}
        kept.update({f"r{revision}.{key}": text for key, text in files.items()} or {f"r{revision}.{_NONE}": ""})
    kube.put_secret(namespace, USER_VALUES_HISTORY_SECRET, kept, {MANAGED_BY: "urumi", LABEL_NAME: name})
