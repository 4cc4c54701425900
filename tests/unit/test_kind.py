"""kind's argv and its error explanations, through an argv-recording runner."""

from __future__ import annotations

import pytest

from urumi_cli.adapters.kind import Kind, explain_kind_error
from urumi_cli.adapters.runner import CommandError
from urumi_cli.errors import Conflict, EnvironmentProblem, OperationFailed, ToolMissing


def test_clusters_runs_kind_get_clusters_and_splits_lines(runner):
    runner.on(["kind", "get", "clusters"], stdout="urumi\nother\n\n")
    assert Kind(runner).clusters() == ["urumi", "other"]
    assert runner.argvs() == [["kind", "get", "clusters"]]


@pytest.mark.parametrize(
    ("listed", "name", "expected"),
    [
        ("kind2\nkind-x\n", "kind", False),  # a prefix of a listed name is not that name
        ("kind2\nkind\n", "kind", True),
        ("urumi-dev\n", "urumi", False),
        ("  urumi  \n", "urumi", True),
        ("", "urumi", False),
    ],
)
def test_exists_matches_whole_lines(runner, listed, name, expected):
    runner.on(["kind", "get", "clusters"], stdout=listed, stderr="No kind clusters found." if not listed else "")
    assert Kind(runner).exists(name) is expected


def test_create_argv(runner):
    runner.on(["kind", "create", "cluster"])
    Kind(runner).create("urumi", "/cfg/kind-config.yaml")
    assert runner.argvs() == [["kind", "create", "cluster", "--name", "urumi", "--config", "/cfg/kind-config.yaml",
                               "--wait", "120s"]]
    assert runner.calls[0].timeout and runner.calls[0].timeout >= 120


def test_create_argv_with_kubeconfig(runner):
    runner.on(["kind", "create", "cluster"])
    Kind(runner).create("dev", "/c.yaml", kubeconfig="/tmp/kc", wait="60s")
    assert runner.argvs() == [["kind", "create", "cluster", "--name", "dev", "--config", "/c.yaml", "--wait", "60s",
                               "--kubeconfig", "/tmp/kc"]]


def test_delete_argv(runner):
    runner.on(["kind", "delete", "cluster"])
    kind = Kind(runner)
    kind.delete("urumi")
    kind.delete("urumi", kubeconfig="/tmp/kc")
    assert runner.argvs() == [
        ["kind", "delete", "cluster", "--name", "urumi"],
        ["kind", "delete", "cluster", "--name", "urumi", "--kubeconfig", "/tmp/kc"],
    ]


DOCKER_DOWN = ("ERROR: failed to create cluster: failed to get docker info: command \"docker info\" failed: "
               "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
PORT_BUSY = ("ERROR: failed to create cluster: command \"docker run ...\" failed with error: exit status 125\n"
             "docker: Error response from daemon: driver failed programming external connectivity on endpoint "
             "urumi-control-plane: Bind for 0.0.0.0:80 failed: port is already allocated.")
ADDR_IN_USE = "ERROR: failed to create cluster: listen tcp 0.0.0.0:443: bind: address already in use"
EXISTS = 'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "urumi"'


@pytest.mark.parametrize(
    ("stderr", "error_type", "words"),
    [
        (DOCKER_DOWN, EnvironmentProblem, "docker daemon"),
        (PORT_BUSY, EnvironmentProblem, "port"),
        (ADDR_IN_USE, EnvironmentProblem, "port"),
        (EXISTS, Conflict, "already exists"),
        ("ERROR: failed to create cluster: something odd", OperationFailed, "something odd"),
    ],
)
def test_create_failure_is_explained(runner, stderr, error_type, words):
    runner.on(["kind", "create", "cluster"], returncode=1, stderr=stderr)
    with pytest.raises(error_type) as info:
        Kind(runner).create("urumi", "/c.yaml")
    assert type(info.value) is error_type
    assert words in info.value.message.lower()
    assert info.value.hint


def test_unexplained_failure_keeps_the_command_and_kinds_error_line():
    err = CommandError(["kind", "create", "cluster", "--name", "x"], 1, "", "Creating cluster...\nERROR: weird\n")
    explained = explain_kind_error(err)
    assert isinstance(explained, OperationFailed)
    assert "kind create cluster --name x" in explained.message
    assert "ERROR: weird" in explained.message


def test_get_clusters_with_docker_down_is_an_environment_problem(runner):
    runner.on(["kind", "get", "clusters"], returncode=1, stderr=DOCKER_DOWN)
    with pytest.raises(EnvironmentProblem):
        Kind(runner).clusters()


def test_version_too_old_names_kind(runner, tool_path):
    runner.on(["kind", "version"], stdout="kind v0.23.0 go1.22.1 linux/amd64")
    with pytest.raises(ToolMissing) as info:
        Kind(runner).version()
    assert "kind" in info.value.message and "0.23" in info.value.message and "too old" in info.value.message
    assert info.value.hint


def test_version_recent_enough(runner, tool_path):
    runner.on(["kind", "version"], stdout="kind v0.32.0 go1.24.1 linux/amd64")
    assert Kind(runner).version().version == "0.32.0"


def test_version_without_kind_on_path(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing) as info:
        Kind(runner).version()
    assert "kind" in info.value.message and "kind.sigs.k8s.io" in (info.value.hint or "")
    assert runner.calls == []


def test_create_argv_with_node_image(runner):
    runner.on(["kind", "create", "cluster"])
    Kind(runner).create("dev", "/c.yaml", image="urumi.local/kind-node:v1.36.3")
    assert runner.argvs() == [["kind", "create", "cluster", "--name", "dev", "--config", "/c.yaml", "--wait", "120s",
                               "--image", "urumi.local/kind-node:v1.36.3"]]


def test_load_image_argv(runner):
    runner.on(["kind", "load", "docker-image"])
    Kind(runner).load_image("dev", "mariadb:11.4.12")
    assert runner.argvs() == [["kind", "load", "docker-image", "--name", "dev", "mariadb:11.4.12"]]
    assert runner.calls[0].timeout >= 300


@pytest.mark.parametrize(
    ("stderr", "words"),
    [
        ('ERROR: image: "nope:1" not present locally', "not in the local Docker"),
        ("ERROR: failed to create cluster: ... runc create failed: unable to start container process: "
         "unable to apply caps: operation not permitted: unknown", "privileged"),
    ],
)
def test_load_and_privileged_failures_are_explained(stderr, words):
    err = explain_kind_error(CommandError(["kind", "load"], 1, "", stderr))
    assert isinstance(err, EnvironmentProblem) and words in err.message and err.hint
