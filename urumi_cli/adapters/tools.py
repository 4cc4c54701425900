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


    def image_exists(self, ref: str) -> bool:
        result = self.runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], timeout=30, check=False)
        return result.ok and bool(result.stdout.strip())

    def any_image(self) -> str | None:
        """Some image present locally (for probes that must not pull), or None."""
        result = self.runner.run(["docker", "image", "ls", "--format", "{{.ID}}"], timeout=30, check=False)
        ids = [line.strip() for line in result.stdout.splitlines() if line.strip()] if result.ok else []
        return ids[0] if ids else None

    def privileged_problem(self) -> str | None:
        """Can this Docker start a --privileged container (kind's nodes are privileged)? None if so,
        else runc's reason. The probe's entrypoint does not exist: an engine that can grant every
        capability fails later with "no such file", one that cannot fails first with "apply caps"."""
        image = self.any_image()
        if image is None:
            return None
        argv = ["docker", "run", "--rm", "--privileged", "--network", "none", "--entrypoint",
                "/urumi-doctor-probe-does-not-exist", image]
        result = self.runner.run(argv, timeout=60, check=False)
        text = result.stdout + result.stderr
        if "unable to apply caps" in text or "operation not permitted" in text:
            return "unable to apply caps: operation not permitted"
        return None


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

