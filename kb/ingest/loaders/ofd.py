"""OFD (GB/T 33190), China's fixed-layout e-document format, through `ofdkit`.

Why ofdkit: pure standard-library Python (no PyMuPDF, whose AGPL licence and size easyofd would
bring), Apache-2.0, reads text in reading order including templates, tolerates the non-conforming
files real issuers produce, and enforces its own size limits on the zip inside. Its pages then go
through the same furniture removal as PDF pages (page numbers, running headers, wrapped lines).
"""

from __future__ import annotations

from kb.ingest.loaders.pdf import rejoin


class OFDUnreadable(Exception):
    """A corrupt or non-OFD file; str() is the one-line reason."""


def ofd_pages(data: bytes) -> list[str]:
    """The text of each page, in reading order."""
    import ofdkit

    try:
        with ofdkit.open(data) as doc:
            return [page.text() for page in doc.pages]
    except ofdkit.OFDLimitError as e:
        raise OFDUnreadable(f"OFD over its safety limits ({e})") from None
    except (ofdkit.OFDError, KeyError, ValueError, OSError) as e:
        raise OFDUnreadable(f"unreadable OFD ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None


def ofd_text(data: bytes) -> str:
    return rejoin(ofd_pages(data))
