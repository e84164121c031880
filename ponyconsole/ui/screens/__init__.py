"""Modal screens: confirmations, help, job detail, enqueue."""
