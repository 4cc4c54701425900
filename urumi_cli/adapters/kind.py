"""kind, shelled out. Text output is matched by whole lines (`kind` must not match `kind2`)."""

from __future__ import annotations

from urumi_cli.adapters.runner import CommandError, CommandRunner
from urumi_cli.adapters.tools import ToolVersion, parse_version, require_at_least, which
from urumi_cli.errors import Conflict, EnvironmentProblem, OperationFailed

CREATE_TIMEOUT_S = 600
LOAD_TIMEOUT_S = 600  # a 500 MB image takes about 20 s; a slow disk many times that


class Kind:
    def __init__(self, runner: CommandRunner):
        self.runner = runner

    def version(self) -> ToolVersion:
        which("kind")
        result = self.runner.run(["kind", "version"], timeout=20)
        return require_at_least(parse_version("kind", result.stdout))

    def clusters(self) -> list[str]:
        try:
            result = self.runner.run(["kind", "get", "clusters"], timeout=60)
        except CommandError as err:
            raise explain_kind_error(err) from None
        # "No kind clusters found." goes to stderr; stdout has one name per line.
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def exists(self, name: str) -> bool:
        return name in self.clusters()

    def create(self, name: str, config_path: str, *, kubeconfig: str | None = None, wait: str = "120s",
               image: str | None = None) -> None:
        argv = ["kind", "create", "cluster", "--name", name, "--config", config_path, "--wait", wait]
        if image:
            argv += ["--image", image]
        if kubeconfig:
            argv += ["--kubeconfig", kubeconfig]
        try:
            self.runner.run(argv, timeout=CREATE_TIMEOUT_S)
        except CommandError as err:
            raise explain_kind_error(err) from None

    def delete(self, name: str, *, kubeconfig: str | None = None) -> None:
        argv = ["kind", "delete", "cluster", "--name", name]
        if kubeconfig:
            argv += ["--kubeconfig", kubeconfig]
        try:
            self.runner.run(argv, timeout=300)
        except CommandError as err:
            raise explain_kind_error(err) from None


    def load_image(self, name: str, image: str) -> None:
        """Copy one image from the local Docker into every node of cluster NAME."""
        argv = ["kind", "load", "docker-image", "--name", name, image]
        try:
            self.runner.run(argv, timeout=LOAD_TIMEOUT_S)
        except CommandError as err:
            raise explain_kind_error(err) from None


def explain_kind_error(err: CommandError) -> Exception:
    """kind exits 1 for everything; the reason is in its `ERROR: ...` lines."""
    text = (err.stderr + "\n" + err.stdout).lower()
    if "cannot connect to the docker daemon" in text or "docker daemon" in text and "running" in text:
        return EnvironmentProblem("kind cannot reach the Docker daemon", "start Docker, then retry")
    if "port is already allocated" in text or "address already in use" in text:
        return EnvironmentProblem("a host port kind needs (80 or 443) is already in use",
                                  "stop what listens on it (`urumi doctor` shows which), then retry")
    if "not present locally" in text:
        return EnvironmentProblem("an image to load is not in the local Docker",
                                  "build or pull it first (`docker image ls` shows what is there)")
    if "unable to apply caps" in text:
        return EnvironmentProblem("Docker cannot run privileged containers here, and kind's nodes are privileged",
                                  "see `urumi doctor`; on a VM without CAP_SYS_RESOURCE use a runc wrapper "
                                  "(tests/harness/docker-engine)")
    if "already exist for a cluster with the name" in text:
        return Conflict("a kind cluster with that name already exists", "use `urumi cluster status`, or another --name")
    return OperationFailed(f"kind failed: {err.summary()}", "run the command above by hand to see kind's full output")
