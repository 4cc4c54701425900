"""Settings and paths: where the registry lives, where charts are, defaults for timeouts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CLUSTER = "urumi"
DEFAULT_TIMEOUT_S = 600.0  # a real WooCommerce pulls images and downloads plugins: minutes, not seconds
DEFAULT_DELETE_TIMEOUT_S = 300.0
ENVS = ("local", "prod")
LOCAL_DOMAIN = "localhost"
INGRESS_NAMESPACE = "traefik"
TRAEFIK_CHART_REPO = "https://traefik.github.io/charts"
TRAEFIK_CHART_VERSION = "41.3.0"  # Traefik Proxy v3.7.11
STORE_TYPES = ("woocommerce", "medusa")  # the charts whose images `cluster load-images` loads by default


def urumi_home() -> Path:
    """$URUMI_HOME, else the XDG data directory (platformdirs), e.g. ~/.local/share/urumi."""
    explicit = os.environ.get("URUMI_HOME")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("urumi", appauthor=False))


def config_file() -> Path:
    """$XDG_CONFIG_HOME/urumi/config.yaml (platformdirs: ~/.config/urumi/config.yaml on Linux)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("urumi", appauthor=False)) / "config.yaml"


def _package_data() -> Path:
    return Path(__file__).resolve().parent / "_data"


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def charts_dir() -> Path:
    """Charts ship in the wheel under _data/charts; in a source checkout they are at the repo root."""
    override = os.environ.get("URUMI_CHARTS_DIR")
    if override:
        return Path(override)
    packaged = _package_data() / "charts"
    return packaged if packaged.is_dir() else repo_root() / "charts"


def default_kind_config() -> Path:
    packaged = _package_data() / "kind-config.yaml"
    return packaged if packaged.is_file() else repo_root() / "kind-config.yaml"


def resource_file(name: str) -> Path:
    return Path(__file__).resolve().parent / "resources" / name


@dataclass(frozen=True)
class Settings:
    home: Path

    @property
    def registry_path(self) -> Path:
        return self.home / "registry.json"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(home=urumi_home())
