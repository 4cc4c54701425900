"""Validation of everything a user types, before anything touches the cluster or the registry."""

from __future__ import annotations

import re

from urumi_cli.errors import UsageError

# Store name -> Helm release (<= 53), namespace store-<name> (<= 63), StatefulSet pods and their
# controller-revision-hash label (<name>-mariadb-<10 chars> <= 63), host <name>.<domain>.
MAX_STORE_NAME = 40
MAX_CLUSTER_NAME = 40  # kind-<name>, <name>-control-plane stay well inside 63
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
# Go's time.Duration text, as kubectl, helm and kind print and accept it: 90s, 5m0s, 1h30m, 1.5h.
_GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def validate_store_name(name: str) -> str:
    shown = repr(name) if name else "''"
    if not name:
        raise UsageError("store name is empty", "use lower-case letters, digits and '-', e.g. --name shop")
    if len(name) > MAX_STORE_NAME:
        raise UsageError(
            f"store name {shown} is {len(name)} characters, at most {MAX_STORE_NAME} are allowed",
            "shorter names keep the namespace, Helm release and host names within Kubernetes limits",
        )
    if not _DNS_LABEL.fullmatch(name):  # not .match: `$` also matches before a trailing newline
        raise UsageError(
            f"invalid store name {shown}: must be a DNS-1123 label",
            "use lower-case letters a-z, digits and '-', starting and ending with a letter or digit",
        )
    return name


def validate_store_type(value: str) -> str:
    """The name of an engine (urumi_cli/actions/engines/)."""
    from urumi_cli.actions.engines import engine_for

    return engine_for(value).name


def validate_env(value: str) -> str:
    from urumi_cli.config import ENVS

    if value not in ENVS:
        raise UsageError(f"unknown environment {value!r}", f"choose one of: {', '.join(ENVS)}")
    return value


def validate_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise UsageError(f"invalid domain {value!r}", "pass a DNS name such as example.com")
    return domain


def parse_duration(value: str) -> float:
    """'600' (seconds), '90s', '10m', '1.5h', '5m0s', '1h30m' -> seconds. Rejects zero and garbage."""
    text = (value or "").strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text)
    elif _GO_DURATION.fullmatch(text):
        seconds = sum(float(number) * _UNIT_S[unit] for number, unit in _GO_PART.findall(text))
    else:
        raise UsageError(f"invalid duration {value!r}", "use e.g. 90s, 10m, 1h30m or a number of seconds")
    if seconds <= 0:
        raise UsageError(f"invalid duration {value!r}: must be greater than zero", "e.g. --timeout 10m")
    return seconds


def validate_cluster_name(name: str) -> str:
    """kind cluster names: a DNS label too (kind names its node containers <name>-control-plane)."""
    shown = repr(name) if name else "''"
    if not name:
        raise UsageError("cluster name is empty", "e.g. --name urumi")
    if len(name) > MAX_CLUSTER_NAME:
        raise UsageError(f"cluster name {shown} is {len(name)} characters, at most {MAX_CLUSTER_NAME} are allowed",
                         "kind's node container and kube context names derive from it")
    if not _DNS_LABEL.fullmatch(name):
        raise UsageError(f"invalid cluster name {shown}: must be a DNS-1123 label",
                         "use lower-case letters a-z, digits and '-', starting and ending with a letter or digit")
    return name


def validate_context_name(value: str) -> str:
    if not value or value.startswith("-") or any(c in value for c in "\n\r\0"):
        raise UsageError(f"invalid context name {value!r}", "pass the name of a context in your kubeconfig")
    return value


# An image tag's alphabet (the OCI distribution spec), which also covers plugin versions like 9.1.2.
_VERSION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")


def parse_set_versions(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`--set-version wordpress=7.0.4-php8.3-apache` values -> ((component, version), ...)."""
    pairs: dict[str, str] = {}
    for value in values:
        component, sep, version = value.partition("=")
        component = component.strip()
        if not sep or not component or not version:
            raise UsageError(f"invalid --set-version {value!r}", "write it as COMPONENT=VERSION, e.g. woocommerce=9.1.2")
        if not _VERSION.fullmatch(version):
            raise UsageError(f"invalid version {version!r} for {component}",
                             "use letters, digits and . _ - + only (an image tag or a release number)")
        if component in pairs:
            raise UsageError(f"--set-version {component} given twice", "pass each component once")
        pairs[component] = version
    return tuple(pairs.items())


def validate_component(value: str | None) -> str | None:
    from urumi_cli.models import COMPONENT_ORDER

    if value is None or value in COMPONENT_ORDER:
        return value
    raise UsageError(f"unknown component {value!r}", f"choose one of: {', '.join(COMPONENT_ORDER)}")


# A Kubernetes label value: it is stored as the namespace's urumi.dev/owner label.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


def validate_owner(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value or ""):
        raise UsageError(f"invalid owner {value!r}: must be a Kubernetes label value",
                         "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
    return value
