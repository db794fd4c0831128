"""Attributed speech: is a sentence's view of the target the author's, or someone's they report?

Annotation guidelines §2: criticism (or praise) that stays attributed to someone else is
neutral reporting; only the text's own wording, framing or selection takes a side. The
stance rule therefore weighs down (``stance.attribution: discount``) or ignores (``skip``)
the sentences that report speech. A sentence is *attributed* when one of the target's
mentions sits inside quotation marks, or when it has a reporting verb or phrase ("said",
"told", "according to", "accused", ...). Deliberately simple and transparent: a sentence
that reports speech may still carry the author's own loaded words, which is why
``discount`` (a weight) exists beside ``skip``.
"""

from __future__ import annotations

import re

REPORTING = re.compile(
    r"\b(?:said|says|say|saying|told|tells|tell|according to|accused|accuses|accusing|claimed|claims|claiming"
    r"|alleged|alleges|insisted|insists|argued|argues|warned|warns|denied|denies|stated|states|added|adds"
    r"|declared|declares|announced|announces|asserted|asserts|charged|charges|called on|urged|urges"
    r"|quoted|quoting|reportedly|reported|reports|wrote|writes|tweeted|posted|described)\b",
    re.IGNORECASE,
)
# Straight and curly double quotes, guillemets; single quotes are apostrophes too often.
QUOTES = re.compile(r"\"[^\"]*\"|“[^”]*”|«[^»]*»|„[^“”]*[“”]")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in QUOTES.finditer(text)]


def is_attributed(text: str, mentions: list[tuple[int, int]]) -> bool:
    """True when ``text`` reports speech: a reporting verb, or a mention (char span) inside quotes."""
    if REPORTING.search(text):
        return True
    quotes = quoted_spans(text)
    return any(qs <= ms and me <= qe for ms, me in mentions for qs, qe in quotes)
