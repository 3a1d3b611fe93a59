"""Phone numbers: the E.164 shape, and the masked forms that logs and browsers may see."""

from __future__ import annotations

import re

E164_RE = re.compile(r"^\+[1-9]\d{7,14}$")


# ITU-T E.164 country calling codes of one or two digits; every other code has three.
_ONE_DIGIT_CODES = frozenset({"1", "7"})
_TWO_DIGIT_CODES = frozenset(
    {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47"}
    | {"48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65"}
    | {"66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"}
)


def mask_phone(phone: str) -> str:
    """``+8613800001234`` -> ``+86138****1234``: safe for logs."""
    if len(phone) <= 7:
        return "****"
    return phone[:6] + "****" + phone[-4:]


def country_code(phone: str) -> str:
    """The calling code of an E.164 number without the ``+`` (``+8613800001234`` -> ``86``)."""
    digits = phone.removeprefix("+")
    if digits[:1] in _ONE_DIGIT_CODES:
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


def display_phone(phone: str) -> str:
    """What a browser may see: country code, first 3 and last 4 digits (``+86 136****7230``).

    At least four digits always stay hidden: shorter national numbers show only their last 4 (or
    none); anything that is not E.164 shows ``****`` and at most its last 4 digits.
    """
    if not E164_RE.match(phone):
        digits = "".join(ch for ch in phone if ch.isdigit())
        return "****" + digits[-4:] if len(digits) >= 8 else "****"
    code = country_code(phone)
    national = phone[1 + len(code) :]
    if len(national) >= 11:  # mainland mobiles: 4 digits stay hidden
        return f"+{code} {national[:3]}****{national[-4:]}"
    if len(national) >= 8:  # shorter plans: at least 4 hidden, so no leading digits
        return f"+{code} ****{national[-4:]}"
    return f"+{code} ****"
