"""Shared fixtures: real media made with ffmpeg/HandBrake, and the real Kubernetes test cluster."""

pytest_plugins = [
    "tests.fixtures.media",
    "tests.fixtures.cluster",
    "tests.fixtures.disks",
    "tests.fixtures.no_skips",
    "pytester",
]
