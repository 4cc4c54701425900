"""`import kubernetes` costs ~0.4 s: commands that never dial a cluster must not pay for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)


def _imported_modules(args: list[str], home) -> tuple[set[str], subprocess.CompletedProcess]:
    env = {**os.environ, "URUMI_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=50)
    modules = set()
    for line in proc.stderr.splitlines():
        # "import time:       812 |       1034 |   urumi_cli.cli.app"
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                modules.add(name)
    return modules, proc


def _kubernetes(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "kubernetes" or m.startswith("kubernetes."))


def test_the_parser_sees_kubernetes_when_it_is_imported(tmp_path):
    modules, _ = _imported_modules(["-c", "import kubernetes.client"], tmp_path)
    assert "kubernetes" in _kubernetes(modules)


def test_help_does_not_import_kubernetes(tmp_path):
    modules, proc = _imported_modules(["-m", "urumi_cli", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "urumi_cli.cli.app" in modules  # the parse worked
    assert "store" in proc.stdout
    assert _kubernetes(modules) == []


def test_store_list_json_does_not_import_kubernetes(tmp_path):
    modules, proc = _imported_modules(["-m", "urumi_cli", "store", "list", "-o", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == []
    assert "urumi_cli.adapters.registry" in modules
    assert _kubernetes(modules) == []


def test_a_bad_name_fails_without_importing_kubernetes(tmp_path):
    modules, proc = _imported_modules(["-m", "urumi_cli", "store", "create", "--name", "Bad_Name!"], tmp_path)
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")] == [
        "error: invalid store name 'Bad_Name!': must be a DNS-1123 label (hint: use lower-case letters a-z, digits "
        "and '-', starting and ending with a letter or digit)"]
    assert _kubernetes(modules) == []


def test_a_missing_kubeconfig_is_reported_before_the_client_is_imported(tmp_path):
    env_home = tmp_path / "home"
    env_home.mkdir()
    modules, proc = _imported_modules(["-m", "urumi_cli", "store", "get", "shop", "--kubeconfig",
                                       str(tmp_path / "missing.yaml"), "--context", "kind-urumi"], env_home)
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "missing.yaml does not exist" in errors[0]
    assert _kubernetes(modules) == []
