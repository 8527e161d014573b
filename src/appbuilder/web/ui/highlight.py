"""Code and diffs as HTML through Pygments: spans with Pygments' short class names, whose
colours are in app.css (the CSP allows no inline style). Pygments escapes every character
of the text, so a hostile file renders inert.

Each line is its own ``<span class="line">`` (Pygments closes its spans at each line end),
so line numbers come from a CSS counter and are not copied with the code."""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

#: beyond this many characters a file is shown plain: a lexer for code costs about 170 ms
#: and 250 KiB of HTML per 50,000 characters of Python (bench/README.md), and generated
#: files are a few KiB
MAX_HIGHLIGHTED_CHARS = 50_000
#: a diff's lexer is some ten times cheaper (a line's first character decides its colour)
MAX_HIGHLIGHTED_DIFF_CHARS = 400_000
_FORMATTER = HtmlFormatter(nowrap=True)


def _lexer(path: str, text: str) -> Lexer:
    plain: Lexer = TextLexer(stripnl=False, ensurenl=False)
    if len(text) > MAX_HIGHLIGHTED_CHARS:
        return plain
    try:
        found: Lexer = get_lexer_for_filename(path, code=text[:4096], stripnl=False, ensurenl=False)
    except ClassNotFound:
        return plain
    return found


def _lines(html: str) -> Markup:
    lines = html.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return Markup("\n".join(f'<span class="line">{line}</span>' for line in lines))  # noqa: S704 - Pygments escaped the text


def code_html(path: str, text: str) -> Markup:
    """A file's text as highlighted lines, by the lexer its name suggests."""
    return _lines(highlight(text, _lexer(path, text), _FORMATTER))


def diff_html(text: str) -> Markup:
    """A unified diff as highlighted lines (added, removed, headers)."""
    lexer: Lexer = DiffLexer(stripnl=False, ensurenl=False)
    if len(text) > MAX_HIGHLIGHTED_DIFF_CHARS:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    return _lines(highlight(text, lexer, _FORMATTER))
