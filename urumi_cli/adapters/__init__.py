"""The outside world: subprocesses (kind, helm, docker), the Kubernetes API, the TinyDB registry."""
