"""The cluster pipeline: the commands that run in the watcher and in the Jobs' pods."""
