"""Bytes → text, without being told the encoding.

Reports arrive as UTF-8 with or without a BOM, GB18030/GBK (most Chinese government sites),
UTF-16 with or without a BOM, Big5 now and then, and spliced or truncated files with a few bad
bytes. BOMs decide first, then strict UTF-8, then GB18030 or charset-normalizer's guess (which
misreads short GBK texts as Big5 or cp949, hence the overrides), and last a lenient reading that
reports how many characters it had to replace. Binary data (images, archives) is refused by its
magic bytes rather than decoded into noise.
"""

from __future__ import annotations

import re

from kb.ingest.problems import LoadError

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP/Office"),
    (b"\xd0\xcf\x11\xe0", "legacy Office (.doc/.xls)"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip"),
)
_GB = {"gb2312", "gbk", "gb18030", "hz", "hz_gb_2312", "cp936", "euc_cn"}
_BIG5 = {"big5", "big5hkscs", "cp950"}
_CJKISH = re.compile(
    r"[\u2000-\u206f\u2e80-\u2fdf\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u00b7\u00d7]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_cjk(text: str) -> bool:
    """Do the non-ASCII characters read as Chinese text (ideographs, CJK punctuation)?"""
    wide = [c for c in text if ord(c) > 0x7F]
    return bool(wide) and sum(1 for c in wide if _CJKISH.match(c)) >= 0.9 * len(wide)


def _outside_gb2312(data: bytes) -> bool:
    """Any double-byte pair with a trail byte below 0xA1: GBK extension or, more likely, Big5."""
    i = 0
    while i < len(data) - 1:
        if data[i] >= 0x81:
            if data[i + 1] < 0xA1:
                return True
            i += 2
        else:
            i += 1
    return False


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NULs in every other byte (for ASCII-heavy text)."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.3 * half and even == 0:
        return _strict(data, "utf-16-le")
    if even > 0.3 * half and odd == 0:
        return _strict(data, "utf-16-be")
    return None


def _guess(data: bytes) -> str | None:
    """charset-normalizer, overruled by GB18030 for Chinese bytes it misreads (short GBK texts
    come back as Big5, cp949 or UTF-16). Big5 stands only when the bytes cannot be GB2312."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    encoding = (best.encoding or "").lower() if best else ""
    gb = _strict(data, "gb18030")
    if encoding in _GB and gb is not None:
        return gb
    if encoding in _BIG5 and best is not None and _outside_gb2312(data):
        return str(best)
    if gb is not None and _mostly_cjk(gb):
        return gb
    return str(best) if best is not None else None


MAX_REPLACED_SHARE = 0.01  # undecodable characters a text may have and still go in (with a warning)


def _replaced(text: str) -> int:
    return text.count("\ufffd")


def _lenient(data: bytes, encoding: str) -> tuple[str, int] | None:
    """Decode what can be decoded; None when too much cannot (then it is not text in this encoding)."""
    text = data.decode(encoding, errors="replace")
    bad = _replaced(text) - data.count("\ufffd".encode(encoding))  # genuine U+FFFD in the file do not count
    decoded_wide = sum(1 for c in text if ord(c) > 0x7F) - _replaced(text)
    if bad > max(8, MAX_REPLACED_SHARE * len(text)) or decoded_wide < 10 * bad:
        return None  # mostly-ASCII bytes of another encoding would pass the share test alone
    return text, bad


def _looks_like_text(text: str) -> bool:
    return len(_CONTROL.findall(text)) <= max(2, len(text) // 100)


def decode(data: bytes, source: str) -> str:
    """Bytes → text (see `decode_counting`); the replacement count is dropped."""
    return decode_counting(data, source)[0]


def decode_counting(data: bytes, source: str) -> tuple[str, int]:
    """Bytes → (text, characters replaced): BOMs first, then strict UTF-8, GB18030/charset-normalizer,
    and last a lenient UTF-8 or GB18030 reading for text with a few bad bytes (spliced files,
    truncated downloads) — those come back with the number of U+FFFD replacements to report.

    Raises LoadError for binary data or bytes no encoding explains.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            encoding = encoding.replace("-sig", "")
            text = _strict(data[len(bom) :], encoding)
            if text is not None:
                return text, 0
            lenient = _lenient(data[len(bom) :], encoding)
            if lenient is None:
                raise LoadError(source, f"invalid {encoding.upper()} despite its byte-order mark")
            return lenient
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise LoadError(source, f"binary data ({kind} file), not text")
    text = _strict(data, "utf-8")
    if text is not None:
        return _checked(text, source), 0
    if b"\x00" in data:
        text = _bomless_utf16(data)
        if text is None:
            raise LoadError(source, "binary data, not text")
        return _checked(text, source), 0
    mostly_utf8 = _lenient(data, "utf-8")  # before guessing: UTF-8 bytes also "decode" as GB18030 mojibake
    if mostly_utf8 is not None and _looks_like_text(mostly_utf8[0]):
        return mostly_utf8
    text = _guess(data)
    if text is not None and _looks_like_text(text):
        return text, 0
    lenient = _lenient(data, "gb18030")
    if lenient is not None and _looks_like_text(lenient[0]):
        return lenient
    raise LoadError(source, "binary data or unknown text encoding")


def _checked(text: str, source: str) -> str:
    if not _looks_like_text(text):
        raise LoadError(source, "binary data or unknown text encoding")
    return text


def tidy(text: str) -> str:
    """Line ends made \n, a stray BOM and surrounding whitespace gone: what every loader returns."""
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").strip()


HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)""", re.IGNORECASE)


def decode_html(data: bytes, source: str) -> tuple[str, int]:
    """A web page's text: its declared charset when that decodes cleanly (GB2312/GBK read as
    GB18030), else as `decode_counting` reads any text."""
    m = HTML_CHARSET.search(data[:4096])
    if m:
        declared = m[1].decode("ascii").lower()
        declared = "gb18030" if declared in _GB else declared
        text = _strict(data, declared)
        if text is not None:
            return text, 0
    return decode_counting(data, source)
