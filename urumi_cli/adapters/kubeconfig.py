"""Resolve and check the kubeconfig/context pair before anything dials a cluster.

Cheap (PyYAML only): lets bad input fail in one line without importing the kubernetes client.
"""

from __future__ import annotations

import os
from pathlib import Path

from urumi_cli.errors import EnvironmentProblem, UsageError, shown
from urumi_cli.models import Target


def kubeconfig_files(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit).expanduser()]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _load(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise EnvironmentProblem(f"cannot read kubeconfig {shown(path)}: {err.strerror}",
                                 "check the file's permissions or pass another --kubeconfig") from None
    except UnicodeDecodeError:
        raise EnvironmentProblem(f"kubeconfig {shown(path)} is not a text file", "pass a valid --kubeconfig") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise EnvironmentProblem(f"kubeconfig {shown(path)} is not valid YAML{where}",
                                 "fix or regenerate the file") from None
    if not isinstance(data, dict):
        raise EnvironmentProblem(f"kubeconfig {shown(path)} is not a kubeconfig", "pass a valid --kubeconfig")
    return data


def current_context(explicit_kubeconfig: str) -> str | None:
    return _load(Path(explicit_kubeconfig).expanduser()).get("current-context") or None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it
        return False


def check_target(target: Target) -> Target:
    """The kubeconfig must exist and be readable, and must define the context."""
    files = kubeconfig_files(target.kubeconfig)
    existing = [p for p in files if _exists(p)]
    if target.kubeconfig and not existing:
        raise EnvironmentProblem(f"kubeconfig {shown(files[0])} does not exist",
                                 "pass an existing file with --kubeconfig")
    if not existing:
        raise EnvironmentProblem(
            f"no kubeconfig found ({', '.join(map(str, files))})",
            "run `urumi cluster up` to create a local cluster, or pass --kubeconfig",
        )
    contexts: list[str] = []
    for path in existing:
        contexts += [c.get("name") for c in (_load(path).get("contexts") or []) if isinstance(c, dict)]
    if target.context not in contexts:
        known = ", ".join(sorted(c for c in contexts if c)) or "none"
        raise UsageError(
            f"context {target.context!r} not found in {', '.join(map(str, existing))} (known: {known})",
            "pass --context with one of the known contexts, or run `urumi cluster up`",
        )
    return target
