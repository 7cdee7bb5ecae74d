"""The ``dualsparse`` command line (click). Library code never prints; this package does."""
