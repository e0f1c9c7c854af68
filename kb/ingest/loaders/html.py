"""HTML: the page's main text (trafilatura: no navigation, scripts or footers), its title and
publish date from the page's own metadata.

Portals append the site name to the title (标题_某市人民政府门户网站) and state the date in one of a
dozen <meta> names; the first that parses wins. The page is scanned for depth and element count
(limits.scan_html) before any tree is built, so a nesting bomb fails as one line.
"""

from __future__ import annotations

import re

from kb import limits
from kb.ingest.dates import iso_date
from kb.ingest.decode import decode_html, tidy
from kb.ingest.loaders import quiet
from kb.ingest.problems import LoadError
from kb.models import RawDocument

_META_TITLE = ("articletitle", "og:title", "dc.title", "title")
_META_DATE = (
    "pubdate", "publishdate", "publish_date", "publishtime", "firstpublishedtime", "article:published_time",
    "dc.date.issued", "dc.date", "dcterms.issued", "date", "og:published_time", "weibo:article:create_at",
)  # fmt: skip


def _meta_tags(tree) -> dict[str, str]:
    """<meta name|property=… content=…> keyed by lower-cased name; first occurrence wins."""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").strip().lower()
        value = (el.get("content") or "").strip()
        if key and value:
            out.setdefault(key, value)
    return out


def _without_site(title: str | None) -> str | None:
    """Portals append the site name: 标题_某市人民政府门户网站 / 标题 - 站名 / 标题|站名."""
    title = " ".join((title or "").split())
    return re.split(r"\s*(?:_|\s-\s|\||--)\s*", title)[0].strip() or None


def _page_title(tree) -> str | None:
    node = tree.find(".//title")
    return _without_site(node.text_content() if node is not None else None)


def load_html(source: str, data: bytes) -> tuple[RawDocument, int]:
    import lxml.html
    import trafilatura

    quiet("trafilatura", "htmldate", "courlan")
    html, replaced = decode_html(data, source)
    limits.scan_html(html, source)  # depth and element count, streamed, before any tree is built
    try:
        tree = lxml.html.fromstring(html)
    except Exception as e:  # noqa: BLE001 - lxml raises a zoo of types on junk
        raise LoadError(source, f"unreadable HTML ({type(e).__name__})") from None
    meta, page_title = _meta_tags(tree), _page_title(tree)
    doc = trafilatura.bare_extraction(
        html, include_tables=True, include_comments=False, with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )  # fmt: skip
    text = (doc.text if doc is not None else None) or trafilatura.html2txt(html) or ""
    title = meta.get("articletitle") or _without_site(doc.title if doc is not None else None)
    title = title or _without_site(next((meta[k] for k in _META_TITLE[1:] if meta.get(k)), None)) or page_title
    published = next((d for k in _META_DATE if (d := iso_date(meta.get(k)))), None)
    published = published or iso_date(doc.date if doc is not None else None)
    hints: dict[str, object] = {"published": published} if published else {}
    return RawDocument(source=source, text=tidy(text), title=title, hints=hints), replaced
