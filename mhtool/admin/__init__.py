"""Administration: the store itself and its people (init, info, backup, restore, staff and keys, audit log, settings)."""
