"""Files shipped in the package (the systemd user unit)."""
