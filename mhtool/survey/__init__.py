"""Screening instruments: definitions, answer decoding, scoring and import."""
