"""Telemetry for dashboards: points, buffered SQLite and InfluxDB sinks; never in an alarm's way."""
