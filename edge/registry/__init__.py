"""Registry: the devices this gateway serves (kind, care plan), kept in sync with the cloud."""
