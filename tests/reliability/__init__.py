"""Fault injection: kills, hostile files, resource exhaustion and shutdown races (issue 9)."""
