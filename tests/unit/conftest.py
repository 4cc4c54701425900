"""Fixtures for the unit tests: isolation from the real machine, and the fakes from fakes.py."""

from __future__ import annotations

import os

import pytest

from fakes import FakeHelm, FakeKube, FakePodExec, FakeRunner, RecordingReporter, ScriptedSource, ready_objects


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """No test may touch the real ~/.local/share/urumi, ~/.kube/config or a real chart."""
    home = tmp_path_factory.mktemp("urumi-home")
    monkeypatch.setenv("URUMI_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / "no-such-kubeconfig"))
    monkeypatch.setenv("NO_COLOR", "1")
    for var in ("FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE", "COLUMNS", "LINES"):
        monkeypatch.delenv(var, raising=False)
    charts = tmp_path_factory.mktemp("charts")
    for store_type in ("woocommerce", "medusa"):
        chart = charts / store_type
        chart.mkdir()
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {store_type}\nversion: 0.1.0\n")
        (chart / "values-local.yaml").write_text("{}\n")
        (chart / "values-prod.yaml").write_text("{}\n")
    monkeypatch.setenv("URUMI_CHARTS_DIR", str(charts))


@pytest.fixture
def tool_path(tmp_path, monkeypatch):
    """A PATH holding only do-nothing `helm`, `kind`, `docker`, `kubectl` (so `which` succeeds);
    the fake runner decides what they "print"."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("helm", "kind", "docker", "kubectl"):
        exe = bindir / tool
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return bindir


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def reporter() -> RecordingReporter:
    return RecordingReporter()


@pytest.fixture
def source():
    src = ScriptedSource()
    yield src
    src.closed.set()


@pytest.fixture
def kube():
    k = FakeKube()
    yield k
    k.closed.set()


@pytest.fixture
def helm(kube) -> FakeHelm:
    h = FakeHelm(kube)
    h.objects_on_install = ready_objects("shop")
    return h


@pytest.fixture
def pod_exec(kube) -> FakePodExec:
    return FakePodExec(kube)
