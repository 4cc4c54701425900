"""Fixtures of the chart tests (helpers are in chartlib.py)."""

from __future__ import annotations

import pytest
from chartlib import Helm, require_helm


@pytest.fixture(scope="session")
def helm() -> Helm:
    return Helm(require_helm("helm"))


@pytest.fixture(scope="session", params=["helm", "helm4"])
def any_helm(request) -> Helm:
    """Helm 3 and Helm 4 (urumi supports both); each is skipped when it was not built."""
    return Helm(require_helm(request.param))
