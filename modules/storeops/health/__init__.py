"""The morning health check (``storeops health``): read-only facts of hosts and devices."""
