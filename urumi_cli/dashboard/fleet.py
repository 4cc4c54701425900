"""The dashboard's one door to urumi's actions: everything the page can do to stores, bound to
one target cluster and its adapters. No other dashboard module imports urumi_cli.actions, so the
actions can be reshaped with one module to follow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from urumi_cli import config
from urumi_cli.actions.contract import LABEL_NAME, MANAGED_BY
from urumi_cli.actions.create import CreateOptions, create_store
from urumi_cli.actions.delete import DeleteOptions, delete_store
from urumi_cli.actions.guardrails import load_limits
from urumi_cli.actions.queries import credentials, describe_store
from urumi_cli.actions.refresh import STATUS_RESOURCES, refresh_stores
from urumi_cli.models import Store, Target
from urumi_cli.readiness import INSTANCE_LABEL
from urumi_cli.validation import validate_store_name, validate_store_type

# The namespaces that are stores (what `store list --refresh` lists) and the label every workload
# of a store's release carries: what the dashboard watches across namespaces. The workload kinds
# are the ones refresh reads a store's status from.
STORE_NAMESPACE_SELECTOR = f"{MANAGED_BY}=urumi"
STORE_NAME_LABEL = LABEL_NAME
WORKLOAD_SELECTOR = INSTANCE_LABEL
WORKLOAD_RESOURCES = STATUS_RESOURCES


def validate_name(name: str) -> str:
    return validate_store_name(name)


def validate_create(name: str, store_type: str) -> tuple[str, str]:
    """The CLI's own checks and messages (`store create --name --type`)."""
    return validate_store_name(name), validate_store_type(store_type)


@dataclass
class Fleet:
    registry: object
    helm: object
    kube: object
    target: Target
    locks_dir: Path
    all_clusters: bool = False

    @property
    def cluster(self) -> str:
        return self.target.context

    def refresh(self, names: list[str] | None = None) -> tuple[list[Store], list[str]]:
        """The target cluster's stores (or just `names`), reconciled with the cluster as
        `store list --refresh` does; the registry is updated the same way."""
        return refresh_stores(registry=self.registry, kube=self.kube, cluster=self.cluster, names=names)

    def other_clusters(self) -> list[Store]:
        """With --all-clusters, the registry's records of every other context (not watched)."""
        if not self.all_clusters:
            return []
        return [s for s in self.registry.list_stores(None) if s.cluster != self.cluster]

    def create(self, name: str, store_type: str, *, reporter) -> Store:
        # The config file's limits hold here too (the page has no owner field: per-owner ones do not apply).
        opts = CreateOptions(name=name, type=store_type, target=self.target, timeout_s=config.DEFAULT_TIMEOUT_S,
                             limits=load_limits(config.config_file()))
        return create_store(opts, registry=self.registry, helm=self.helm, kube=self.kube, reporter=reporter,
                            locks_dir=self.locks_dir).store

    def delete(self, name: str, *, reporter) -> Store | None:
        opts = DeleteOptions(name=validate_store_name(name), target=self.target)
        return delete_store(opts, registry=self.registry, helm=self.helm, kube=self.kube, reporter=reporter,
                            locks_dir=self.locks_dir)

    def describe(self, name: str) -> dict:
        return describe_store(validate_store_name(name), registry=self.registry, kube=self.kube,
                              cluster=self.cluster)

    def credentials(self, name: str) -> dict:
        return credentials(validate_store_name(name), kube=self.kube, registry=self.registry, cluster=self.cluster)
