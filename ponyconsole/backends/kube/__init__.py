"""Cluster mode: the console on a Kubernetes cluster (read path, actions, permissions)."""
