"""Retention at the center: closed incidents (and what hangs off them) are purged after a set time."""
