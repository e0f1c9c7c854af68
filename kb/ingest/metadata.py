"""Derive document metadata (title, type, two years, date, issuer, place) from a cleaned report.

Public surface: `derive(clean, raw) -> Metadata`.

Precedence: container fields (`raw.hints`: a spreadsheet's columns, a JSONL row, an HTML page's
title and date) > header fields and the title > the body. Values are Simplified Chinese
(Traditional input is folded), except `title`, which keeps its original script.

The stages live in their own modules: places and the document's own region in `places.py` /
`region.py`, dates and Chinese numerals in `dates.py`, document-type cues in `doctypes.py`
(`kb/data/doc_types.txt`). This module weighs their evidence into one `Metadata`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from kb import rules
from kb.ingest.dates import as_year, iso_date, npc_year, text_year, title_year, year_value
from kb.ingest.doctypes import classify
from kb.ingest.normalise import fold, is_placeholder
from kb.ingest.places import place_of_host
from kb.ingest.region import resolve_region
from kb.ingest.statements import Evidence, org_suffixes, self_statements, signature
from kb.ingest.titles import file_title, heading, is_kind_only, is_title, tidy_title, untitled
from kb.models import PLACE_FIELDS, CleanText, Metadata, RawDocument, doc_type_name
from kb.settings import PlaceSettings

__all__ = ["derive", "file_title"]  # file_title: re-exported from ingest/titles.py

# ---------------------------------------------------------------------------------------------
# rules (data: kb/data/titles.txt, organisations.txt, header_fields.txt)


@dataclass(frozen=True)
class _Rules:
    title_org: re.Pattern[str]  # a title opening with its issuer (X人民政府2023年… / X局关于…)
    body_org: re.Pattern[str]  # a body opening with the government it is from
    title_keys: tuple[str, ...]
    issuer_keys: tuple[str, ...]
    date_keys: tuple[str, ...]
    written_keys: tuple[str, ...]
    url_keys: tuple[str, ...]
    not_issuer: re.Pattern[str]  # a 来源 that is a newspaper or portal
    speaker_org: re.Pattern[str]  # 我代表X人民政府: X人民政府 issued it
    dated_when_issued: tuple[str, ...]  # types whose year is the year they were issued


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    h = "header_fields.txt"
    return _Rules(
        title_org=re.compile(r"^([\u4e00-\u9fff]{2,30}?(?:" + org_suffixes(short=True) + r"))(?=(?:19|20)\d{2}|关于|二〇)"),
        body_org=re.compile(r"^\s*(?:(?:19|20)\d{2}年(?:度)?[,，、]\s*)?([\u4e00-\u9fff]{2,20}?人民政府)"),
        title_keys=tuple(k.lower() for k in rules.words(h, "title")),
        issuer_keys=tuple(k.lower() for k in rules.words(h, "issuer")),
        date_keys=tuple(k.lower() for k in rules.words(h, "date")),
        written_keys=tuple(k.lower() for k in rules.words(h, "written")),
        url_keys=tuple(k.lower() for k in rules.words(h, "url")),
        not_issuer=re.compile(r"(?:" + rules.alternation(h, "not issuer") + r")$"),
        speaker_org=re.compile(r"我(?:受|代表)([\u4e00-\u9fff]{2,20}?(?:" + org_suffixes() + "))"),
        dated_when_issued=rules.words("dates.txt", "dated when issued"),
    )


# ---------------------------------------------------------------------------------------------
# header fields and issuer

def _fields(clean: CleanText) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (clean.fields or {}).items():
        key = re.sub(r"[\s:：|]", "", fold(str(k))).lower()
        val = fold(str(v)).strip().strip("|").strip()
        if key and val and not is_placeholder(val):
            out.setdefault(key, val)
    return out


def _header_title(clean: CleanText) -> str | None:
    """The title a page's header block states (标题: …), in its original script."""
    keys = _rules().title_keys
    for k, v in (clean.fields or {}).items():
        if re.sub(r"[\s:：|]", "", fold(str(k))).lower() in keys and not is_placeholder(fold(str(v))):
            return str(v).strip()
    return None


def _first(fields: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((fields[k] for k in keys if k in fields), None)


def _pick(fields: dict[str, str], keys: tuple[str, ...]) -> str | None:
    """The first issuer field that names an issuer (not a newspaper or portal a page was copied from)."""
    for k in keys:
        if k in fields and not _rules().not_issuer.search(fields[k]):
            return fields[k]
    return None


def _issuer(hints: dict, fields: dict[str, str], title: str, body: str, sign_org: str | None,
            statements: list[Evidence]) -> str | None:
    hinted = _hint(hints, "issuer", "publisher")
    if hinted and not is_placeholder(fold(str(hinted))):
        return fold(str(hinted)).strip()
    head = _pick(fields, _rules().issuer_keys)
    if head:
        if sign_org and sign_org != head and sign_org.endswith(head):
            return sign_org  # 县司法局 + signed 海盐县司法局
        return head
    if sign_org:
        return sign_org
    m = _rules().title_org.search(title)
    if m:
        return m.group(1)
    for e in statements:
        if e.kind == "compiler":
            return e.text
        if e.kind == "speaker":
            m = _rules().speaker_org.search(body[:3000])
            if m:
                return m.group(1)
    m = _rules().body_org.search(body[:80])
    return m.group(1) if m else None


def _hint(hints: dict, *keys: str) -> object | None:
    for k in keys:
        v = hints.get(k)
        if v is not None and str(v).strip() not in ("", "null", "None", "nan"):
            return v
    return None


# ---------------------------------------------------------------------------------------------
# years: the one a report covers and the one it was issued in

_REPORT_YEAR_RE = re.compile(r"现将\s*((?:19|20)\d{2}|[〇零○Ｏ一二三四五六七八九]{4})\s*年")
_YEAR_IN_HEAD_RE = re.compile(r"((?:19|20)\d{2})\s*年")
# 政府工作报告: the year under review — 一、2023年工作回顾 / 2025年主要工作 / 2023年以来工作回顾.
_REVIEW_RE = re.compile(r"((?:19|20)\d{2})\s*年(?:以来)?(?:的)?(?:主要)?(?:工作)?(?:回顾|的工作|主要工作|工作)"
                        r"|((?:19|20)\d{2})\s*年[^。\n]{0,24}?(?:工作回顾|回顾)")
_SESSION_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*在[^。]{2,40}?人民代表大会")
_FULL_DATE_RE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月")


def _years(doc_type: str, nominal: int | None, body: str, published: str | None,
           sign_date: str | None, written: str | None = None) -> tuple[int | None, int | None]:
    """(year covered, year issued). `nominal` is the year a title or a year column names: the
    covered year of an annual report (关于2021年度…), the session year of a 政府工作报告."""
    dated = int((sign_date or published)[:4]) if (sign_date or published) else None
    if doc_type in _rules().dated_when_issued:
        # a notice is of the year it was written: its 成文日期, its number (〔2022〕25号), what it
        # says it was adopted or issued on — before the date a portal put it online
        dated = as_year(written) or text_year(body) or dated
    if doc_type == "政府工作报告":
        issued = nominal
        if issued is None:
            m = _SESSION_DATE_RE.search(body[:600])
            issued = int(m.group(1)) if m else npc_year(body[:600]) or dated
        review = None
        for m in _REVIEW_RE.finditer(body[:2500]):
            y = int(m.group(1) or m.group(2))
            if issued is None or y in (issued - 1, issued):
                review = y
                break
        if review is None and issued is None:  # a report opens with the year it reviews (not a dateline)
            m = next((m for m in _YEAR_IN_HEAD_RE.finditer(body[:1500]) if not _FULL_DATE_RE.match(body, m.start())), None)
            review = int(m.group(1)) if m else None
        if issued is None and review is not None:
            issued = review + 1
        covered = review if review is not None and review < (issued or review + 1) else (issued - 1 if issued else None)
        return covered, issued
    if doc_type in _rules().dated_when_issued:
        year = nominal or dated
        return year, dated or year
    covered = nominal
    if covered is None:
        covered = npc_year(body[:600])
    if covered is None:
        m = _REPORT_YEAR_RE.search(body[:3000])
        covered = year_value(m.group(1)) if m else None
    if covered is None:
        m = _YEAR_IN_HEAD_RE.search(body[:150])
        covered = int(m.group(1)) if m else None
    if covered is None and dated:
        covered = dated
        if doc_type.endswith("年度报告") and int((sign_date or published or "0000-12")[5:7]) <= 6:
            covered -= 1  # annual reports come out in the first half of the following year
    issued = dated
    if issued is None and doc_type == "政府信息公开工作年度报告" and covered:
        issued = covered + 1  # the regulation has them published by 31 January of the next year
    return covered, issued


# ---------------------------------------------------------------------------------------------


def derive(clean: CleanText, raw: RawDocument, w: PlaceSettings = PlaceSettings()) -> Metadata:
    """Metadata for one document: container fields > header fields and title > body text."""
    hints = dict(raw.hints or {})

    # Titles (original script): stated (a column, a page header's 标题, the page) > a heading on
    # the first lines > the file name.
    title_hint = _hint(hints, "title") or _header_title(clean)
    stated = tidy_title(str(title_hint)) if title_hint else tidy_title(raw.title or "")
    stated = stated if is_title(stated) else ""
    # the scrape's title line (clean.title) read with what follows it: a wrapped second line, a
    # bracketed or owner line under it (…区级部门预算 / 预算主管部门：X)
    printed = "" if stated else (heading(clean.text) or (tidy_title(clean.title) if is_title(clean.title) else ""))
    from_file, file_year = file_title(str(hints["file_title"])) if hints.get("file_title") else (None, None)
    title = stated or printed or from_file or ""
    ftitle, ffile = fold(title), fold(from_file or "")

    body = fold(clean.text)
    fields = _fields(clean)
    sign_org, sign_date = signature(body)
    statements = self_statements(body, w)
    doc_type = _hint(hints, "doc_type")
    if doc_type is not None:
        try:
            doc_type = doc_type_name(fold(str(doc_type)))
        except ValueError:
            doc_type = None
    if doc_type is None:
        doc_type, _ = classify([ftitle, ffile], body)
    issuer = _issuer(hints, fields, ftitle, body, sign_org, statements)

    published = (
        iso_date(_hint(hints, "published", "publish_date", "date", "pubdate"))
        or iso_date(_first(fields, _rules().date_keys))
        or sign_date
    )
    nominal = as_year(_hint(hints, "year"))
    if nominal is None and title:
        nominal = title_year(ftitle) or npc_year(ftitle)
    if nominal is None and ffile:
        nominal = title_year(ffile) or file_year
    written = iso_date(_first(fields, _rules().written_keys))
    year, issued_year = _years(doc_type, nominal, body, published, sign_date, written)

    # Place: columns > who speaks, the title, the file name, the issuer > how the text speaks of itself.
    hint_place = {k: fold(str(v)).strip() for k in ("region", "province", "city", "county")
                  if (v := _hint(hints, k)) is not None}
    evidence = [e for e in statements]
    if title:
        evidence.append(Evidence("title" if title != from_file else "file name", ftitle, w.title))
    if from_file and title != from_file:
        evidence.append(Evidence("file name", ffile, w.issuer_field))
    header_issuer = _pick(fields, _rules().issuer_keys) or ""
    if header_issuer:
        evidence.append(Evidence("issuer field", header_issuer, w.issuer_field))
    host_place = place_of_host(str(_hint(hints, "url") or _first(fields, _rules().url_keys) or ""))
    if host_place:
        evidence.append(Evidence("web host", host_place, w.issuer_field))
    hinted_issuer = _hint(hints, "issuer", "publisher")
    if hinted_issuer:
        evidence.append(Evidence("issuer column", fold(str(hinted_issuer)), w.issuer_field))
    if sign_org:
        evidence.append(Evidence("signature", sign_org, w.signature))
    national_text = " ".join((ftitle, header_issuer, fold(str(hinted_issuer or ""))))
    found = resolve_region(evidence, body, hint_place, national_text, w)
    place = found.place
    if hint_place.get("region") and place.region is None:
        place = replace(place, region=hint_place["region"])  # a region kb does not know, kept as stated
    columns = {key: fold(str(v)).strip() for key in PLACE_FIELDS[1:] if (v := _hint(hints, key))}
    place = replace(place, **columns)

    if not title:
        title = untitled(clean.text, place.region, year, issued_year, doc_type)
    elif printed and title == printed and place.region and is_kind_only(title):
        # a printed heading that is only the kind of document (政府工作报告): say whose and which
        title = f"{issued_year or year}年{place.region}{title}" if (issued_year or year) else f"{place.region}{title}"
    return Metadata(
        title=title,
        doc_type=doc_type,
        year=year,
        published=published,
        issuer=issuer,
        **place.as_dict(),
        issued_year=issued_year,
        region_confidence=found.confidence if place.region else None,
        region_evidence=found.summary if place.region else (found.summary or None),
    )
