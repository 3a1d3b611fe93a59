"""Schema version of the wire contract. Bump on a breaking change; readers list what they accept.

Version 2 added ``boot`` to every uplink (the alarm's identity is device id + boot + seq); a version 1
message reads as boot 0. Downlinks only gained optional fields (``ref_boot``) and stay version 1, so
version 1 firmware reads them unchanged.
"""

from typing import Final, Literal

SCHEMA_VERSION: Final = 2
SUPPORTED_VERSIONS: Final = frozenset({1, 2})
DOWNLINK_VERSION: Final = 1

UplinkVersion = Literal[1, 2]
