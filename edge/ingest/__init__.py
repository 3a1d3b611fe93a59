"""Ingest: MQTT in, every message validated and sequenced, then handed to the pipeline (uplinks)."""
