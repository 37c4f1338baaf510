"""Administration use cases: staff, keys, audit, settings, backup and restore."""
