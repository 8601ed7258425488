"""Money is an integer number of pence everywhere; this is the one place it becomes text."""

from __future__ import annotations

import re

_AMOUNT = re.compile(r"^\s*£?\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$")


class NotMoney(ValueError):
    """The text is not an amount of money we understand."""


def format_pence(pence: int) -> str:
    """1250 -> '£12.50'; 1200 -> '£12'; 0 -> 'Free'."""
    if pence == 0:
        return "Free"
    pounds, rest = divmod(abs(pence), 100)
    sign = "-" if pence < 0 else ""
    return f"{sign}£{pounds:,}" if rest == 0 else f"{sign}£{pounds:,}.{rest:02d}"


def parse_pounds(text: str) -> int:
    """'£12.50' or '12.5' -> 1250 pence. Raises NotMoney for anything else (never uses float)."""
    match = _AMOUNT.match(text.replace(",", ""))
    if not match:
        raise NotMoney(text)
    pounds, pence = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(pounds) * 100 + int(pence)
