"""Helpers for the chart tests: the real helm binary, rendering, quantity arithmetic.

The charts are tested with the helm that tests/harness/testbin builds (Helm 3, and Helm 4 where
present). Nothing here talks to a cluster: `helm template` and `helm lint` work offline.
(A module with its own name rather than conftest.py: several test directories have a conftest.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
CHART_NAMES = ("woocommerce", "medusa")
OVERLAYS = ("local", "prod")
RELEASE = "shop"
NAMESPACE = "store-shop"
TESTBIN = Path(os.environ.get("URUMI_TESTBIN") or Path.home() / ".cache" / "urumi" / "testbin")
POD_OWNERS = ("Deployment", "StatefulSet", "Job")
COMPONENTS = {"database", "web", "setup", "cache", "test"}


def helm_path(name: str = "helm") -> Path:
    return TESTBIN / name


def require_helm(name: str = "helm") -> Path:
    path = helm_path(name)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"{path} is absent: build it with tests/harness/testbin (or set URUMI_TESTBIN)")
    return path


@dataclass
class Helm:
    path: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # A private HOME-like config so that the user's helm repositories and plugins play no part.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "HELM_CACHE_HOME": os.environ.get("URUMI_TEST_HELM_CACHE", "/tmp/urumi-chart-tests/cache"),
            "HELM_CONFIG_HOME": "/tmp/urumi-chart-tests/config",
            "HELM_DATA_HOME": "/tmp/urumi-chart-tests/data",
        }
        result = subprocess.run([str(self.path), *args], capture_output=True, text=True, env=env, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def template(self, chart: str, overlay: str | None = "local", *, sets: dict | None = None,
                 values: list[Path] | None = None, release: str = RELEASE, check: bool = True):
        args = ["template", release, str(CHARTS / chart), "--namespace", NAMESPACE]
        if overlay:
            args += ["-f", str(CHARTS / chart / f"values-{overlay}.yaml")]
        for path in values or []:
            args += ["-f", str(path)]
        for key, value in (sets or {}).items():
            args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
        result = self.run(*args, check=check)
        if not check:
            return result
        return Manifests([doc for doc in yaml.safe_load_all(result.stdout) if doc])


class Manifests(list):
    """The objects of one `helm template` run, with lookups used throughout the tests."""

    def kind(self, kind: str) -> list[dict]:
        return [doc for doc in self if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        for doc in self.kind(kind):
            if doc["metadata"]["name"] == name:
                return doc
        raise AssertionError(f"no {kind} {name!r} among {[(d['kind'], d['metadata']['name']) for d in self]}")

    def pod_specs(self) -> list[tuple[str, dict, dict, int]]:
        """(owner name, pod metadata, pod spec, replicas) for every pod the release can run,
        including the `helm test` pods."""
        pods = []
        for doc in self:
            if doc["kind"] in POD_OWNERS:
                template = doc["spec"]["template"]
                replicas = doc["spec"].get("replicas", 1) if doc["kind"] != "Job" else 1
                pods.append((f"{doc['kind']}/{doc['metadata']['name']}", template["metadata"], template["spec"], replicas))
            elif doc["kind"] == "Pod":
                pods.append((f"Pod/{doc['metadata']['name']}", doc["metadata"], doc["spec"], 1))
        return pods

    def containers(self):
        for owner, _meta, spec, _replicas in self.pod_specs():
            for container in spec.get("initContainers", []) + spec["containers"]:
                yield owner, container


_UNITS = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def quantity(value) -> Decimal:
    """A Kubernetes quantity ("250m", "1.5Gi", 2) as a number of base units."""
    text = str(value)
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _UNITS[suffix]
    return Decimal(text)


def write_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def bash() -> str:
    found = shutil.which("bash")
    if not found:
        pytest.skip("bash is not installed")
    return found
