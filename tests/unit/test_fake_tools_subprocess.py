"""A few checks end to end through real subprocesses, with fake `helm` and `kind` executables on PATH:
the argv urumi builds reaches the tool exactly, with no shell in between."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest

from urumi_cli.adapters.helm import Helm
from urumi_cli.adapters.kind import Kind
from urumi_cli.adapters.runner import SubprocessRunner
from urumi_cli.errors import EnvironmentProblem
from urumi_cli.models import Target

pytestmark = pytest.mark.timeout(60)

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    with open(os.environ["FAKE_TOOL_LOG"], "a") as log:
        log.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
    args = sys.argv[1:]
    name = os.path.basename(sys.argv[0])
    if name == "helm" and args[:1] == ["version"]:
        print("v3.15.4")
    elif name == "helm" and args[:1] == ["status"]:
        print("Error: release: not found", file=sys.stderr)
        sys.exit(1)
    elif name == "kind" and args[:2] == ["get", "clusters"]:
        print("kind2")
        print("urumi-old")
    elif name == "kind" and args[:2] == ["create", "cluster"]:
        print("Creating cluster ...", file=sys.stderr)
        print("ERROR: failed to create cluster: Bind for 0.0.0.0:443 failed: port is already allocated",
              file=sys.stderr)
        sys.exit(1)
""")


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for tool in ("helm", "kind"):
        exe = bindir / tool
        exe.write_text(FAKE.format(python=sys.executable))
        exe.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TOOL_LOG", str(log))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def test_helm_argv_reaches_helm_verbatim(fake_tools, tmp_path):
    odd = tmp_path / "my values, with; $(odd) chars.yaml"
    odd.write_text("{}\n")
    helm = Helm(SubprocessRunner(grace_seconds=1))
    helm.upgrade_install("shop", str(tmp_path / "chart dir"), namespace="store-shop", target=Target("kind-urumi"),
                         values_files=[str(odd)], timeout_s=30, wait=True)
    assert fake_tools() == [
        ["helm", "version", "--template", "{{.Version}}"],
        ["helm", "upgrade", "--install", "shop", str(tmp_path / "chart dir"), "--kube-context", "kind-urumi",
         "--namespace", "store-shop", "--values", str(odd), "--timeout", "30s", "--wait", "--wait-for-jobs"],
    ]
    assert helm.status("shop", namespace="store-shop", target=Target("kind-urumi")) is None


def test_kind_whole_line_matching_through_a_real_process(fake_tools):
    kind = Kind(SubprocessRunner(grace_seconds=1))
    assert kind.clusters() == ["kind2", "urumi-old"]
    assert kind.exists("kind") is False
    assert kind.exists("urumi") is False
    assert kind.exists("kind2") is True


def test_kind_failure_is_explained_from_its_stderr(fake_tools):
    with pytest.raises(EnvironmentProblem) as info:
        Kind(SubprocessRunner(grace_seconds=1)).create("urumi", "/cfg.yaml")
    assert "port" in info.value.message
    assert fake_tools()[-1] == ["kind", "create", "cluster", "--name", "urumi", "--config", "/cfg.yaml",
                                "--wait", "120s"]
