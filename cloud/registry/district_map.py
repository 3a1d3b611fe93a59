"""A schematic map of Xiqing District for the offline console: each street/town as a simple polygon.

The outlines are approximate (a coarse grid around each street's real position, drawn by hand from
public maps), good enough to place an incident in its part of the district — not survey data, and
not for navigation. Corners are (lat, lon) in WGS-84.
"""

from __future__ import annotations

from typing import Final

# grid lines: longitudes west→east, latitudes north→south
_LON: Final = {"A": 116.90, "B": 116.97, "C": 117.04, "D": 117.10, "E": 117.17, "F": 117.24}
_LAT: Final = {1: 39.20, 2: 39.15, 3: 39.11, 4: 39.07, 5: 39.03, 6: 38.97, 7: 38.89}

# street code -> corners as (column, row) on the grid above, clockwise from the north-west
_CORNERS: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "xinkou": (("A", 2), ("B", 2), ("B", 4), ("A", 4)),
    "yangliuqing": (("B", 1), ("C", 1), ("C", 3), ("B", 3)),
    "zhongbei": (("C", 1), ("D", 1), ("D", 3), ("C", 3)),
    "xiyingmen": (("D", 1), ("F", 1), ("F", 2), ("D", 2)),
    "chilongnan": (("D", 2), ("E", 2), ("E", 3), ("D", 3)),
    "liqizhuang": (("E", 2), ("F", 2), ("F", 4), ("E", 4)),
    "jinmenhu": (("D", 3), ("E", 3), ("E", 4), ("D", 4)),
    "zhangjiawo": (("B", 3), ("C", 3), ("C", 5), ("A", 5), ("A", 4), ("B", 4)),
    "jingwu": (("C", 3), ("D", 3), ("D", 5), ("C", 5)),
    "dasi": (("D", 4), ("F", 4), ("F", 6), ("C", 6), ("C", 5), ("D", 5)),
    "wangwenzhuang": (("A", 5), ("C", 5), ("C", 6), ("E", 6), ("E", 7), ("A", 7)),
}

STREET_OUTLINES: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    code: tuple((_LAT[row], _LON[col]) for col, row in corners) for code, corners in _CORNERS.items()
}
