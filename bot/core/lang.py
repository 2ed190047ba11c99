"""Which language a chat reads: the one pure rule every front-end, the CLI and delivery share."""

from __future__ import annotations

SUPPORTED_LANGS: tuple[str, ...] = ("en", "zh-TW")

# What users may type after /lang, beside the canonical codes (case-insensitive).
_ALIASES = {
    "en": "en",
    "english": "en",
    "zh-tw": "zh-TW",
    "zh": "zh-TW",
    "zh-hant": "zh-TW",
    "zh_tw": "zh-TW",
    "tw": "zh-TW",
    "中文": "zh-TW",
    "繁中": "zh-TW",
    "繁體中文": "zh-TW",
}


def parse_lang(word: str) -> str | None:
    """A /lang argument or PLUMBLINE_LANG value as a supported code, or None."""
    return _ALIASES.get(word.strip().lower())


def lang_from_locale(tag: str | None) -> str | None:
    """A client's language tag (Telegram language_code, Discord locale) as a supported code.

    Any zh* tag (zh-hant-tw, zh-TW, zh-hk, zh-hans, zh) is Traditional Chinese; en* is English."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "zh":
        return "zh-TW"
    if primary == "en":
        return "en"
    return None


def pick_lang(chosen: str | None, *locales: str | None, default: str = "en") -> str:
    """The chat's language: what /lang chose, else the first recognised client locale (the user's, then
    the guild's), else the configured default (PLUMBLINE_LANG)."""
    if chosen in SUPPORTED_LANGS:
        return chosen
    for tag in locales:
        found = lang_from_locale(tag)
        if found is not None:
            return found
    return default if default in SUPPORTED_LANGS else "en"
