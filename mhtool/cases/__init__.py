"""Dossiers: students, timeline entries, watch levels, tasks (一人一档)."""
