"""Number and date formatting shared by every reply, in the reader's language.

English: 4.22%, +22 bp, $50.35B, $3.033T, Fri 2025-10-31.
Traditional Chinese, as Taiwan's financial press writes them: 4.22%, +22個基點, 503.5億美元, 3.033兆美元,
2025年10月31日（週五）. Monospace tables are padded by display width (a CJK character is two columns).
"""

from __future__ import annotations

from datetime import date

from wcwidth import wcswidth

from bot.words.messages import DEFAULT_LANG, t

ZH = "zh-TW"


def pct(value: float | None, digits: int = 2, lang: str = DEFAULT_LANG) -> str:
    """4.22 -> '4.22%'."""
    return t("na", lang) if value is None else f"{value:.{digits}f}%"


def bp(value: float | None, lang: str = DEFAULT_LANG) -> str:
    """A signed spread in basis points: +22 bp, -3 bp, 0 bp (+22個基點 in Chinese)."""
    if value is None:
        return t("na", lang)
    rounded = round(value)
    unit = "個基點" if lang == ZH else " bp"
    if rounded == 0:
        return f"0{unit}"
    return f"{rounded:+d}{unit}".replace("-", "\u2212")


def bp_plain(value: float, lang: str = DEFAULT_LANG) -> str:
    """An unsigned distance in basis points as users set it: 3 bp, 2.5 bp (3個基點)."""
    return f"{value:g}個基點" if lang == ZH else f"{value:g} bp"


def _digits(size: float, digits: int | None) -> int:
    if digits is None:
        return 3 if size < 1 else (2 if size < 100 else 1)
    return digits


def usd_bn(value: float | None, digits: int | None = None, lang: str = DEFAULT_LANG) -> str:
    """Billions in a readable unit: $925.9B, $6.606T, $0.004B for small SRF take-up.

    In Chinese the same precision in 億 (a tenth of a billion) and 兆 (a trillion): 503.5億美元, 8,500億美元,
    3.033兆美元, 0.04億美元."""
    if value is None:
        return t("na", lang)
    sign = "\u2212" if value < 0 else ""
    size = abs(value)
    if lang == ZH:
        if size >= 1000 and digits is None:
            return f"{sign}{size / 1000:,.3f}兆美元"
        places = max(0, _digits(size, digits) - 1)
        return f"{sign}{size * 10:,.{places}f}億美元"
    if size >= 1000 and digits is None:
        return f"{sign}${size / 1000:,.3f}T"
    return f"{sign}${size:,.{_digits(size, digits)}f}B"


def usd_bn_delta(value: float, lang: str = DEFAULT_LANG) -> str:
    """A signed change in billions: +$12.3B, -$1.204T (+123億美元)."""
    text = usd_bn(abs(value), lang=lang)
    return ("+" if value >= 0 else "\u2212") + text


def weekday_date(iso: str, lang: str = DEFAULT_LANG) -> str:
    """'2025-10-31' -> 'Fri 2025-10-31', or '2025年10月31日（週五）'."""
    weekday = t(f"weekday.{date.fromisoformat(iso).weekday()}", lang)
    return t("date.weekday", lang, weekday=weekday, date=iso)


def width(text: str) -> int:
    """Columns the text takes in a monospace font (CJK and emoji are two; unprintable counts as one)."""
    columns = wcswidth(text)
    return columns if columns >= 0 else sum(max(wcswidth(ch), 1) for ch in text)


def ljust(text: str, columns: int) -> str:
    """Pad on the right to a display width."""
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    """Pad on the left to a display width."""
    return " " * max(0, columns - width(text)) + text
