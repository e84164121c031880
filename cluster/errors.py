"""The one error of the pony test cluster driver."""


class ClusterError(RuntimeError):
    """The test cluster could not be started or driven."""
