"""The Kubernetes backend: the cluster is the source of truth (see backend.py)."""
