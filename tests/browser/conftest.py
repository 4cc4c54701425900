"""The browser tests run the dashboard on the same simulated cluster as tests/integration: its
`control_plane` fixture (and URUMI_REQUIRE_CONTROL_PLANE semantics) are reused, not copied."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "urumi_integration_conftest", Path(__file__).resolve().parents[1] / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _integration  # dataclasses look their module up there
_spec.loader.exec_module(_integration)

control_plane = _integration.control_plane
