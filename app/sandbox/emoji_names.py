"""Emoji shortcodes as Slack writes them (`:rotating_light:`), and the emoji each stands for.

The names come from the `emoji` package: its GitHub/Slack-style aliases first (`+1`, `x`,
`white_check_mark`), then the Unicode CLDR names (`thumbs_up`), each also in lower case. The
browser view receives the table once and renders shortcodes with it.
"""

from __future__ import annotations

import functools

import emoji


@functools.cache
def emoji_table() -> dict[str, str]:
    """Shortcode (without colons) -> emoji, fully-qualified forms preferred."""
    table: dict[str, str] = {}
    entries = sorted(
        emoji.EMOJI_DATA.items(),
        key=lambda item: item[1].get("status") != emoji.STATUS["fully_qualified"],
    )
    for kind in ("alias", "en"):
        for glyph, data in entries:
            names = data.get(kind) or []
            for name in [names] if isinstance(names, str) else names:
                bare = name.strip(":")
                table.setdefault(bare, glyph)
                table.setdefault(bare.lower(), glyph)
    return table
