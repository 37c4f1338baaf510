"""Adapters for files: readers of exports and rosters (with their TOML profiles), cell normalisation, and the one workbook writer."""
