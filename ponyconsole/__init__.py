"""ponyconsole: the control console of a home HandBrake transcoding cluster."""

__version__ = "0.1.0"
