"""urumi: a store factory on your own Kubernetes (kind locally, k3s or any cluster in production)."""

__version__ = "0.1.0"
