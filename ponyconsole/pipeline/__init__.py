"""The cluster pipeline: the watcher, the Job chain and the in-pod commands."""
