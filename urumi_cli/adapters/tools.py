"""Versions and presence of the external tools urumi shells out to (docker, kind, helm, kubectl)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from urumi_cli.adapters.runner import TOOL_HINTS, CommandRunner
from urumi_cli.errors import EnvironmentProblem, TimedOut, ToolMissing

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
# kind 0.24 is the first whose default CNI enforces NetworkPolicy: store isolation depends on it.
MIN_VERSIONS = {"kind": (0, 24), "helm": (3, 12), "kubectl": (1, 27)}


@dataclass(frozen=True)
class ToolVersion:
    tool: str
    version: str
    major: int
    minor: int


def parse_version(tool: str, text: str) -> ToolVersion:
    match = _VERSION.search(text or "")
    if not match:
        raise EnvironmentProblem(f"could not read the version of {tool} from {text.strip()[:80]!r}",
                                 TOOL_HINTS.get(tool))
    return ToolVersion(tool, match.group(0).lstrip("v"), int(match.group(1)), int(match.group(2)))


def require_at_least(version: ToolVersion) -> ToolVersion:
    minimum = MIN_VERSIONS.get(version.tool)
    if minimum and (version.major, version.minor) < minimum:
        want = ".".join(map(str, minimum))
        raise ToolMissing(f"{version.tool} {version.version} is too old, urumi needs {want} or newer",
                          TOOL_HINTS.get(version.tool))
    return version


def which(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(f"{tool} not found on PATH", TOOL_HINTS.get(tool))
    return path


class Docker:
    def __init__(self, runner: CommandRunner):
        self.runner = runner

    def version(self) -> ToolVersion:
        which("docker")
        result = self.runner.run(["docker", "version", "--format", "{{.Client.Version}}"], timeout=20, check=False)
        return parse_version("docker", result.stdout or result.stderr)

    def ensure_daemon(self) -> str:
        """`docker info` with a timeout: the daemon must answer, not just the client exist."""
        which("docker")
        try:
            result = self.runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20, check=False)
        except TimedOut:
            raise EnvironmentProblem("docker did not answer within 20s", "check that the Docker daemon is healthy") from None
        text = (result.stdout + result.stderr).strip()
        if not result.ok or not result.stdout.strip():
            if "permission denied" in text.lower():
                raise EnvironmentProblem("docker: permission denied talking to the daemon",
                                         "add your user to the docker group, or run Docker Desktop")
            raise EnvironmentProblem("cannot reach the Docker daemon (is it running?)",
                                     "start Docker (Docker Desktop, or `sudo systemctl start docker`), then retry")
        return result.stdout.strip()


class Kubectl:
    def __init__(self, runner: CommandRunner):
        self.runner = runner

    def version(self) -> ToolVersion:
        which("kubectl")
        result = self.runner.run(["kubectl", "version", "--client", "-o", "json"], timeout=20, check=False)
        import json

        try:
            text = json.loads(result.stdout)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError):
            text = result.stdout or result.stderr
        return require_at_least(parse_version("kubectl", text))

