"""Tests of research exports, purpose policy, retention and erasure."""
