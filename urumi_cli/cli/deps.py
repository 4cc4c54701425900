"""Dependencies reach commands through the click context object (never module globals), so
tests hand commands fake adapters with `CliRunner.invoke(..., obj=Deps(...))`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from urumi_cli.config import Settings
from urumi_cli.models import Target


def _adapter(module: str, name: str):
    import importlib

    return getattr(importlib.import_module(f"urumi_cli.adapters.{module}"), name)


class _Lazy:
    """Stands for an adapter and builds it at the first attribute access."""

    __slots__ = ("_build", "_target")

    def __init__(self, build: Callable[[], object]):
        self._build = build
        self._target = None

    def __getattr__(self, name):
        if self._target is None:
            self._target = self._build()
        return getattr(self._target, name)


@dataclass
class Deps:
    settings: Settings
    consoles: object
    runner: object = None
    helm: object = None
    kind: object = None
    docker: object = None
    kubectl: object = None
    registry: object = None
    browser: object = None
    kube_factory: Callable[[Target], object] | None = None
    is_tty: Callable[[], bool] | None = None
    exec_factory: Callable[[Target], object] | None = None  # pod exec (store backup/restore)
    _kube_cache: dict = field(default_factory=dict)

    @classmethod
    def default(cls, *, quiet: bool = False, debug: bool = False) -> "Deps":
        from urumi_cli.ui.console import make_consoles

        return cls(settings=Settings.from_env(), consoles=make_consoles(quiet=quiet, debug=debug))

    def __post_init__(self) -> None:
        # The subprocess adapters are built (and their modules imported) on first use only:
        # `store list` needs none of them.
        if self.runner is None:
            self.runner = _Lazy(self._subprocess_runner)
        if self.helm is None:
            self.helm = _Lazy(lambda: _adapter("helm", "Helm")(self.runner))
        if self.kind is None:
            self.kind = _Lazy(lambda: _adapter("kind", "Kind")(self.runner))
        if self.docker is None:
            self.docker = _Lazy(lambda: _adapter("tools", "Docker")(self.runner))
        if self.kubectl is None:
            self.kubectl = _Lazy(lambda: _adapter("tools", "Kubectl")(self.runner))
        if self.browser is None:
            self.browser = _Lazy(lambda: _adapter("browser", "Browser")())
        if self.registry is None:
            from urumi_cli.adapters.registry import Registry

            self.registry = Registry(self.settings.registry_path)

    def _subprocess_runner(self):
        from urumi_cli.adapters.runner import SubprocessRunner

        return SubprocessRunner(debug_log=self.consoles.debug_line)

    def kube(self, target: Target):
        """One Kubernetes client per target per process (the client is costly to build)."""
        key = (target.context, target.kubeconfig)
        if key not in self._kube_cache:
            if self.kube_factory is not None:
                self._kube_cache[key] = self.kube_factory(target)
            else:
                from urumi_cli.adapters.kube import KubeClient
                from urumi_cli.adapters.kubeconfig import check_target

                self._kube_cache[key] = KubeClient(check_target(target))
        return self._kube_cache[key]

    def pod_exec(self, target: Target):
        """Exec in the target's pods, over the same client (and context) as kube(target)."""
        if self.exec_factory is not None:
            return self.exec_factory(target)
        from urumi_cli.adapters.kube_exec import PodExec

        return PodExec(self.kube(target))

    def reporter(self, *, silent: bool):
        from urumi_cli.ui.progress import make_reporter

        return make_reporter(self.consoles, silent=silent)

    def tty(self) -> bool:
        if self.is_tty is not None:
            return self.is_tty()
        import sys

        return sys.stdin.isatty() and sys.stderr.isatty()
