"""Validation of everything a user types, before anything touches the cluster or the registry."""

from __future__ import annotations

import re

from urumi_cli.errors import UsageError

# Store name -> Helm release (<= 53), namespace store-<name> (<= 63), StatefulSet pods and their
# controller-revision-hash label (<name>-mariadb-<10 chars> <= 63), host <name>.<domain>.
MAX_STORE_NAME = 40
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


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
    """'600', '90s', '10m', '1.5h' -> seconds. Rejects negatives, zero and garbage."""
    match = _DURATION.match(value or "")
    if not match:
        raise UsageError(f"invalid duration {value!r}", "use a positive number of seconds or e.g. 90s, 10m, 1h")
    number = float(match.group(1))
    unit = match.group(2) or "s"
    seconds = number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if seconds <= 0:
        raise UsageError(f"invalid duration {value!r}: must be greater than zero", "e.g. --timeout 10m")
    return seconds


def validate_context_name(value: str) -> str:
    if not value or value.startswith("-") or any(c in value for c in "\n\r\0"):
        raise UsageError(f"invalid context name {value!r}", "pass the name of a context in your kubeconfig")
    return value
