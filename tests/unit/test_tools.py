"""Tool presence and versions: docker, kubectl, and version parsing."""

from __future__ import annotations

import json

import pytest

from urumi_cli.adapters.tools import Docker, Kubectl, parse_version, require_at_least
from urumi_cli.errors import EnvironmentProblem, TimedOut, ToolMissing


@pytest.mark.parametrize(
    ("tool", "text", "version", "major", "minor"),
    [("kind", "kind v0.24.0 go1.22.6 linux/amd64", "0.24.0", 0, 24),
     ("helm", "v3.16.2", "3.16.2", 3, 16),
     ("helm", "v4.0.0", "4.0.0", 4, 0),
     ("kubectl", "v1.31.1", "1.31.1", 1, 31)],
)
def test_parse_version(tool, text, version, major, minor):
    parsed = parse_version(tool, text)
    assert (parsed.version, parsed.major, parsed.minor) == (version, major, minor)


def test_unparseable_version_names_the_tool():
    with pytest.raises(EnvironmentProblem) as info:
        parse_version("helm", "command not understood")
    assert "helm" in info.value.message


@pytest.mark.parametrize(("tool", "text"), [("kind", "v0.19.0"), ("helm", "v3.11.9"), ("kubectl", "v1.26.3")])
def test_too_old_is_tool_missing_naming_the_tool(tool, text):
    with pytest.raises(ToolMissing) as info:
        require_at_least(parse_version(tool, text))
    assert info.value.message.startswith(f"{tool} ")
    assert "too old" in info.value.message


def test_kubectl_too_old_is_refused(runner, tool_path):
    runner.on(["kubectl", "version", "--client", "-o", "json"],
              stdout=json.dumps({"clientVersion": {"gitVersion": "v1.25.0"}}))
    with pytest.raises(ToolMissing) as info:
        Kubectl(runner).version()
    assert "kubectl" in info.value.message


def test_kubectl_version(runner, tool_path):
    runner.on(["kubectl", "version", "--client", "-o", "json"],
              stdout=json.dumps({"clientVersion": {"gitVersion": "v1.31.2"}}))
    assert Kubectl(runner).version().version == "1.31.2"


def test_docker_daemon_down(runner, tool_path):
    runner.on(["docker", "info"], returncode=1,
              stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
    with pytest.raises(EnvironmentProblem) as info:
        Docker(runner).ensure_daemon()
    assert "docker daemon" in info.value.message.lower()
    assert runner.argvs() == [["docker", "info", "--format", "{{.ServerVersion}}"]]
    assert runner.calls[0].timeout is not None


def test_docker_permission_denied(runner, tool_path):
    runner.on(["docker", "info"], returncode=1,
              stderr="permission denied while trying to connect to the Docker daemon socket")
    with pytest.raises(EnvironmentProblem) as info:
        Docker(runner).ensure_daemon()
    assert "permission denied" in info.value.message
    assert "docker group" in info.value.hint


def test_docker_daemon_hangs(runner, tool_path):
    def hang(argv):
        raise TimedOut("`docker info` did not finish within 20s")

    runner.on(["docker", "info"], action=hang)
    with pytest.raises(EnvironmentProblem) as info:
        Docker(runner).ensure_daemon()
    assert "did not answer" in info.value.message


def test_docker_daemon_up(runner, tool_path):
    runner.on(["docker", "info"], stdout="27.3.1\n")
    assert Docker(runner).ensure_daemon() == "27.3.1"


def test_docker_missing(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing) as info:
        Docker(runner).ensure_daemon()
    assert "docker" in info.value.message and info.value.hint
