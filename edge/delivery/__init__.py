"""Delivery: the durable outbox, its forwarder to the cloud, the cloud client and the command stream."""
