"""Everything that does I/O: the backend protocol and its local and Kubernetes implementations."""
