"""Text from the address or the data, shown as text and never as Markdown or HTML.

Streamlit reads Markdown in `st.markdown`, `st.caption`, `st.warning` (and the other alerts), and in
every widget label (a filter chip is a button): `![x](http://host/p.png)` in a ward code or an agency
name would make each visitor's browser fetch that image, `[text](http://…)` would become a link.
Plotly reads a subset of HTML (`<a href>`, `<b>`, `<br>`, …) in tick labels, legends, hovers and
annotations. Every string that comes from the URL or the database goes through one of these:

* `markdown_text` before it enters a Markdown context (backslash before every ASCII punctuation
  character, which CommonMark shows as the character itself; line breaks become spaces). Streamlit's
  GitHub-flavoured Markdown also turns `http://…`, `www.…` and `a@b.c` inside plain text into links
  after unescaping, so an invisible WORD JOINER (U+2060) goes after `http`/`https`/`www` and before `@`;
* `chart_text` before it enters a Plotly figure (`&`, `<`, `>` as entities, which Plotly shows as the
  characters themselves); `chart_value` turns a clicked point's value back into the data value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character, `\` included
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_AUTOLINK = re.compile(r"(?i)(https?|www)(?=[:.])|(?=@)")  # what GFM's autolink literals start with
WORD_JOINER = "\u2060"


def markdown_text(value: Any) -> str:
    """`value` as literal text inside Markdown: `![x](u)` → `\\!\\[x\\]\\(u\\)`, shown exactly as typed."""
    text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(value)))
    text = _AUTOLINK.sub(lambda match: (match.group(1) or "") + WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def chart_text(value: Any) -> str:
    """`value` as literal text inside a Plotly label or hover: `<a href="u">x</a>` → `&lt;a href="u"&gt;x&lt;/a&gt;`."""
    return html.escape(str(value), quote=False)


def chart_texts(values: Iterable[Any]) -> list[str]:
    return [chart_text(value) for value in values]


def chart_value(value: Any) -> str:
    """The data value behind a clicked label drawn with `chart_text` (the inverse: `chart_value(chart_text(v)) == v`)."""
    return html.unescape(str(value))


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, the cut marked with "…" (a value pasted into an address can be any length)."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
