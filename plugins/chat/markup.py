"""What a message may look like: a small Markdown subset, rendered then sanitised.

markdown-it-py renders the text with raw HTML switched off (a ``<script>`` typed by someone
is shown as text), then nh3 keeps only the tags of the subset below, whatever the renderer
produced: emphasis, links, lists, quotes, code. Links keep http(s) and mailto addresses only
and get ``rel="noopener nofollow"``. Mentions (``@prenom.nom``) are found in the text as
typed, against the channel's members.
"""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt

# CommonMark without raw HTML, images (photos are attachments) or headings (a chat line is
# not a document); with autolinks of bare addresses.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable(
    ["image", "heading", "lheading", "hr", "html_block", "html_inline"]
)

TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre", "del"}
ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}

MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*[a-z0-9])", re.IGNORECASE)


def render(text: str) -> str:
    """The safe HTML of a message typed as ``text``."""
    return nh3.clean(
        _renderer.render(text),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow",
    ).strip()


def handle(name: str) -> str:
    """How a person is mentioned: « Nadia Benali-Côte » → ``nadia.benali-cote``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", ascii_name.lower())
    return ".".join(words)


def mentioned_handles(text: str) -> set[str]:
    return {m.group(1).lower().rstrip(".") for m in MENTION.finditer(text)}


def excerpt(text: str, length: int = 120) -> str:
    """A one-line beginning of a message, for replies, notifications and search results."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"
