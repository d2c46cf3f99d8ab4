"""User text is text: titles, notes, run names, owners and echoed URL parameters shown through
Streamlit's Markdown (`st.markdown`, `st.caption`, `st.warning`, headings, labels, `st.table`
cells) go through `plain` first, so they render as the characters typed: no heading, list,
emphasis, link, image, LaTeX, HTML or Streamlit directive. Multi-line text (a leaderboard's
notes) goes through `st.text` instead. No Streamlit here.
"""

from __future__ import annotations

import re

# The characters that open a Markdown (GitHub-flavoured, plus Streamlit's `$` maths and
# `:color[...]`/`:icon:` directives) construct anywhere in a line; a backslash makes each stand
# for itself. Others (`'`, `.`, `(`, `-`, ...) only matter at the start of a line (below).
_INLINE = re.compile(r"([\\`*_~\[\]<>#$|&:])")
_LINE_START = re.compile(r"^([-+]|\d+(?=[.)]))")  # a list item: `- x`, `+ x`, `1. x`, `1) x`
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# Bare URLs and e-mail addresses become links, and `:material/icon:` an icon, after parsing,
# whatever the escapes: an invisible word joiner (U+2060) in `://`, after `www`, before `@` and
# after the colon of `:material/` keeps them text.
JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(:)(//)|(www)(\.)|()(@)|(:)(material/)")


def plain(text: object) -> str:
    """`text` on one line (line breaks and control characters become spaces, the ends are
    trimmed), escaped so that Streamlit's Markdown shows exactly its characters."""
    line = _BREAKS.sub(" ", str(text)).strip()
    line = _AUTOLINK.sub(lambda m: JOINER.join(g for g in m.groups() if g is not None), line)
    line = _INLINE.sub(r"\\\1", line)
    start = _LINE_START.match(line)
    if start is None:
        return line
    cut = start.end()  # escape the bullet, or the `.`/`)` after the number
    if line[:1].isdigit():
        return f"{line[:cut]}\\{line[cut:]}"
    return f"\\{line}"


def board_title(title: str | None) -> str:
    """A leaderboard's title as the list and its permalink both show it (before `plain`)."""
    return _BREAKS.sub(" ", title or "").strip() or "(untitled)"
