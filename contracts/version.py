"""Schema version of the wire contract. Bump on a breaking change; readers list what they accept."""

from typing import Final

SCHEMA_VERSION: Final = 1
SUPPORTED_VERSIONS: Final = frozenset({1})
