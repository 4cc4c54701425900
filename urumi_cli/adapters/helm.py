"""helm, shelled out, for Helm 3 and Helm 4.

Helm exits only 0 or 1 (helm/helm#7669), so failures are classified from stderr. Helm 4 removed
`--atomic` from install (now `--rollback-on-failure`) and turned `--wait` into a strategy, so the
argv depends on the major version, which is read once per process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from urumi_cli.adapters.runner import CommandError, CommandRunner
from urumi_cli.adapters.tools import ToolVersion, parse_version, require_at_least, which
from urumi_cli.errors import ClusterUnreachable, Conflict, OperationFailed, UsageError
from urumi_cli.models import Target

@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    status: str
    revision: int
    # Filled by history() only (status() reads the revision and state alone).
    chart: str = ""
    app_version: str = ""
    updated: str = ""
    description: str = ""


def wait_flags(major: int) -> list[str]:
    """Helm's own wait (used for the ingress controller, and by the benchmark's baseline)."""
    if major >= 4:
        return ["--wait=watcher", "--wait-for-jobs"]
    return ["--wait", "--wait-for-jobs"]


class Helm:
    def __init__(self, runner: CommandRunner, binary: str = "helm"):
        self.runner = runner
        self.binary = binary
        self._version: ToolVersion | None = None

    # -- version -----------------------------------------------------------------------------
    def version(self) -> ToolVersion:
        if self._version is None:
            which(self.binary)
            result = self.runner.run([self.binary, "version", "--template", "{{.Version}}"], timeout=20)
            self._version = require_at_least(parse_version("helm", result.stdout))
        return self._version

    @property
    def major(self) -> int:
        return self.version().major

    def _kube_args(self, target: Target, namespace: str | None = None) -> list[str]:
        args = ["--kube-context", target.context]
        if target.kubeconfig:
            args += ["--kubeconfig", target.kubeconfig]
        if namespace:
            args += ["--namespace", namespace]
        return args

    # -- releases ----------------------------------------------------------------------------
    def upgrade_install(
        self,
        release: str,
        chart: str,
        *,
        namespace: str,
        target: Target,
        values_files: list[str],
        timeout_s: float,
        wait: bool = False,
        create_namespace: bool = False,
        extra: list[str] | None = None,
    ) -> None:
        argv = [self.binary, "upgrade", "--install", release, chart]
        argv += self._kube_args(target, namespace)
        for path in values_files:
            argv += ["--values", path]
        argv += ["--timeout", f"{max(1, int(timeout_s))}s"]
        if wait:
            argv += wait_flags(self.major)
        if create_namespace:
            argv.append("--create-namespace")
        argv += extra or []
        try:
            # helm's own --timeout bounds server work; give the process a little longer to report.
            self.runner.run(argv, timeout=timeout_s + 60)
        except CommandError as err:
            raise explain_helm_error(err, release=release) from None

    def status(self, release: str, *, namespace: str, target: Target) -> Release | None:
        argv = [self.binary, "status", release, "--output", "json"] + self._kube_args(target, namespace)
        try:
            result = self.runner.run(argv, timeout=60)
        except CommandError as err:
            if "not found" in err.stderr.lower():
                return None
            raise explain_helm_error(err, release=release) from None
        # The JSON holds the supplied values too: read only what is needed, never log it.
        data = json.loads(result.stdout)
        info = data.get("info") or {}
        return Release(release, namespace, info.get("status", "unknown"), int(data.get("version") or 0))

    def uninstall(self, release: str, *, namespace: str, target: Target, timeout_s: float = 300) -> bool:
        argv = [self.binary, "uninstall", release] + self._kube_args(target, namespace)
        argv += ["--timeout", f"{max(1, int(timeout_s))}s"]
        try:
            self.runner.run(argv, timeout=timeout_s + 60)
        except CommandError as err:
            if "not found" in err.stderr.lower():
                return False
            raise explain_helm_error(err, release=release) from None
        return True

    def history(self, release: str, *, namespace: str, target: Target) -> list[Release]:
        """Every revision helm still records, oldest first; [] for an unknown release."""
        argv = [self.binary, "history", release, "--output", "json"] + self._kube_args(target, namespace)
        try:
            result = self.runner.run(argv, timeout=60)
        except CommandError as err:
            if "not found" in err.stderr.lower():
                return []
            raise explain_helm_error(err, release=release) from None
        return [Release(release, namespace, r.get("status", "unknown"), int(r.get("revision") or 0),
                        chart=r.get("chart") or "", app_version=r.get("app_version") or "",
                        updated=r.get("updated") or "", description=r.get("description") or "")
                for r in json.loads(result.stdout or "[]") or []]

    def get_values(self, release: str, *, namespace: str, target: Target) -> dict:
        """The values the deployed revision was given (the -f files merged, not the chart's defaults)."""
        argv = [self.binary, "get", "values", release, "--output", "json"] + self._kube_args(target, namespace)
        try:
            result = self.runner.run(argv, timeout=60)
        except CommandError as err:
            raise explain_helm_error(err, release=release) from None
        return json.loads(result.stdout or "null") or {}

    def rollback(self, release: str, *, namespace: str, target: Target, revision: int | None = None,
                 timeout_s: float = 300) -> None:
        argv = [self.binary, "rollback", release, *([str(revision)] if revision else [])]
        argv += self._kube_args(target, namespace)
        argv += ["--timeout", f"{max(1, int(timeout_s))}s"]
        try:
            self.runner.run(argv, timeout=timeout_s + 60)
        except CommandError as err:
            raise explain_helm_error(err, release=release) from None

    def test(self, release: str, *, namespace: str, target: Target, timeout_s: float) -> str:
        argv = [self.binary, "test", release] + self._kube_args(target, namespace)
        argv += ["--timeout", f"{max(1, int(timeout_s))}s"]
        try:
            result = self.runner.run(argv, timeout=timeout_s + 60)
        except CommandError as err:
            raise OperationFailed(
                f"helm test for {release} failed: {err.summary()}",
                f"inspect the test pods: kubectl get pods -n {namespace} --context {target.context}",
                details=err.stdout.strip() or None,
            ) from None
        return result.stdout


def explain_helm_error(err: CommandError, *, release: str) -> Exception:
    text = err.stderr.lower()
    if "values don't meet the specifications of the schema" in text or "values_schema" in text or "schema(s)" in text:
        detail = " ".join(line.strip() for line in err.stderr.splitlines() if line.strip().startswith("- "))
        return UsageError(f"the chart rejected the values: {detail or err.summary()}",
                          "fix the values file you passed with --values")
    if "kubernetes cluster unreachable" in text or "connection refused" in text or "no such host" in text:
        return ClusterUnreachable(f"helm cannot reach the cluster: {err.summary()}",
                                  "check --kubeconfig/--context, or run `urumi cluster up`")
    if "another operation (install/upgrade/rollback) is in progress" in text:
        return Conflict(f"release {release} is locked by another helm operation",
                        "wait for it to finish, or re-run `urumi store create` to recover a crashed one")
    if "cannot re-use a name that is still in use" in text:
        return Conflict(f"helm release {release} already exists", "use `urumi store get`, or delete it first")
    return OperationFailed(f"helm failed: {err.summary()}", "re-run with --debug to see the helm command")
