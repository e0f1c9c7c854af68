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

from kb.ingest.dates import as_year, iso_date, npc_year, title_year, year_value
from kb.ingest.doctypes import classify
from kb.ingest.normalise import fold, looks_like_title
from kb.ingest.places import scan as scan_names
from kb.ingest.region import Evidence, resolve_region, self_statements, signature
from kb.models import CleanText, Metadata, RawDocument, doc_type_name
from kb.settings import PlaceSettings

__all__ = ["derive", "file_title"]

_TITLE_MAX = 80

# ---------------------------------------------------------------------------------------------
# titles

# Lines that open a text but never name it: salutations, page numbers, 现将…报告如下, dates.
_NOT_A_TITLE = re.compile(
    r"^(?:各位代表|各位委员|同志们|尊敬的|亲爱的|女士们|各位领导|现将|根据|按照|为了|为深入|近年来|一年来|\d+$)"
    r"|^[-—–\s]*(?:第\s*)?\d+\s*(?:页)?(?:\s*/\s*(?:共\s*)?\d+\s*页?)?[-—–\s]*$"
    r"|[:：。；;，,]$"
)
_ORG_LINE = re.compile(
    r"^[\u4e00-\u9fff（）()]{2,30}(?:人民政府|人民政府办公室|人民政府办公厅|政府办公室|司法局|司法厅|委员会|管理委员会|管委会"
    r"|办公室|办公厅|街道办事处|人民代表大会常务委员会)$"
)
_SPACE_IN_CJK = re.compile(r"(?<=[\u4e00-\u9fff\d（）()])[ \t\u3000]+(?=[\u4e00-\u9fff（）()])|(?<=[\u4e00-\u9fff（）()])[ \t\u3000]+(?=\d)")


def tidy_title(title: str) -> str:
    """One line, no letter-spacing (2023 年政府信息公开 → 2023年政府信息公开), at most 80 characters."""
    title = " ".join(title.split())
    return _SPACE_IN_CJK.sub("", title)[:_TITLE_MAX].strip()


def _is_title(line: str | None) -> bool:
    if not line:
        return False
    folded = fold(line.strip())
    return bool(folded) and not _NOT_A_TITLE.search(folded) and len(re.findall(r"[\u4e00-\u9fff]", folded)) >= 4


def _heading(text: str) -> str | None:
    """The title a document states on its first lines: one heading line, or an issuer line above
    it (洪泽区人民政府 / 2023 年政府信息公开工作年度报告), or a heading wrapped over two lines."""
    lines = [" ".join(ln.split()) for ln in text.split("\n")[:8] if ln.strip()]
    lines = [ln for ln in lines if not _PAGE_NUMBER_LINE.match(ln)][:3]
    if not lines or len(lines[0]) > _TITLE_MAX:
        return None
    first = tidy_title(lines[0])
    second = tidy_title(lines[1]) if len(lines) > 1 and len(lines[1]) <= _TITLE_MAX else ""
    ffirst, fsecond = fold(first), fold(second)
    if _ORG_LINE.match(ffirst) and second and looks_like_title(fsecond):
        return tidy_title(first + second)
    if looks_like_title(ffirst) and _is_title(first):
        if second and len(first) >= 12 and len(second) <= 24 and looks_like_title(fsecond) \
                and not re.search(r"(报告|情况|总结|答复|复函|决议|决定|方案|意见|通知)$", ffirst) \
                and re.search(r"(报告|情况|总结|答复|复函|决议|决定|方案|意见|通知)$", fsecond):
            return tidy_title(first + second)  # a long title wrapped onto a second line
        return first
    return None


_FILE_TAG = re.compile(r"[\s_\-—.]*(?:(?:19|20)\d{2}\s*年?(?:度)?|[(（]\d{1,2}[)）]|副本|copy|final|v\d+)$", re.IGNORECASE)
_FILE_LEAD_YEAR = re.compile(r"^((?:19|20)\d{2})\s*年?\s*[_\-—\s]+")


def file_title(stem: str | None) -> tuple[str | None, int | None]:
    """A title from a file name (2024年光明区政府工作报告_2024 → 2024年光明区政府工作报告) and the
    year its tags carry; None for names that are no title (hzq2023_working)."""
    if not stem:
        return None, None
    name, year = stem.strip(), None
    while (m := _FILE_TAG.search(name)) and m.start() > 0:
        year = year or as_year(m.group(0))
        name = name[: m.start()]
    m = _FILE_LEAD_YEAR.match(name)
    if m:
        year = year or int(m.group(1))
        name = name[m.end() :]
    name = re.sub(r"[_]+", "", name).strip(" -—.")
    if len(re.findall(r"[\u4e00-\u9fff]", name)) < 4:
        return None, year
    if year and not re.search(r"(?:19|20)\d{2}|[〇零○一二三四五六七八九]{4}年", name):
        name = f"{name}（{year}年）"
    return tidy_title(name), year


_PAGE_NUMBER_LINE = re.compile(r"^[-—–\s]*(?:第\s*)?\d+\s*(?:页)?[-—–\s]*$")
_SALUTATION = re.compile(r"^(?:各位代表|各位委员|同志们|尊敬的|亲爱的|女士们|各位领导|现将.{0,30}如下)[^。]{0,12}[:：!！]?$")


def _first_sentence(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("|").strip()
        folded = fold(line)
        if len(line) > 4 and not _SALUTATION.match(folded) and not _PAGE_NUMBER_LINE.match(folded):
            head = re.split(r"[。；;!?！？]", line, maxsplit=1)[0]
            return head[:40] + ("…" if len(head) > 40 else "")
    return "（原文无标题）"


def _untitled(text: str, region: str | None, year: int | None, issued: int | None, doc_type: str) -> str:
    """A report scraped without its title: named by what was derived, never by a salutation."""
    if region and doc_type == "法治政府建设年度报告" and year:
        return f"{region}{year}年法治政府建设情况报告（原文无标题）"
    if region and doc_type == "政府工作报告" and (issued or year):
        return f"{region}{issued or (year or 0) + 1}年政府工作报告（原文无标题）"
    if region and doc_type != "其他" and year:
        return f"{region}{year}年{doc_type.split('/')[0]}（原文无标题）"
    return _first_sentence(text)


# ---------------------------------------------------------------------------------------------
# header fields and issuer

_ISSUER_KEYS = ("发布机构", "发布单位", "发文机关", "发文单位", "发布部门", "发布机关", "信息来源",
                "来源单位", "来源", "文章来源", "所属机构", "主办单位")
_DATE_KEYS = ("成文日期", "公开日期", "发布日期", "发文日期", "印发日期", "日期", "发布时间", "时间")
_EMPTY = frozenset({"", "无", "暂无", "-", "—", "--", "/", "null", "none", "n/a", "空"})
_ORG_TAIL = r"(?:人民政府办公室|人民政府办公厅|人民政府|政府办公室|司法局|司法厅|委员会|办公室|办公厅|街道办事处|管理委员会|政府|局|委)"
_TITLE_ORG_RE = re.compile(r"^([\u4e00-\u9fff]{2,30}?" + _ORG_TAIL + r")(?=(?:19|20)\d{2}|关于|二〇)")
_BODY_ORG_RE = re.compile(r"^\s*(?:(?:19|20)\d{2}年(?:度)?[,，、]\s*)?([\u4e00-\u9fff]{2,20}?人民政府)")
# A newspaper or portal named as 来源 is where a page was copied from, not who issued the report.
_NOT_ISSUER = re.compile(r"(日报|晚报|新闻|网|报社|电视台|广播|出版社|图书馆|杂志)$")


def _fields(clean: CleanText) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (clean.fields or {}).items():
        key = re.sub(r"[\s:：|]", "", fold(str(k)))
        val = fold(str(v)).strip().strip("|").strip()
        if key and val.lower() not in _EMPTY:
            out.setdefault(key, val)
    return out


def _pick(fields: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        if k in fields and not _NOT_ISSUER.search(fields[k]):
            return fields[k]
    return None


def _issuer(hints: dict, fields: dict[str, str], title: str, body: str, sign_org: str | None,
            statements: list[Evidence]) -> str | None:
    hinted = _hint(hints, "issuer", "publisher")
    if hinted and fold(str(hinted)).strip() not in _EMPTY:
        return fold(str(hinted)).strip()
    head = _pick(fields, _ISSUER_KEYS)
    if head:
        if sign_org and sign_org != head and sign_org.endswith(head):
            return sign_org  # 县司法局 + signed 海盐县司法局
        return head
    if sign_org:
        return sign_org
    m = _TITLE_ORG_RE.search(title)
    if m:
        return m.group(1)
    for e in statements:
        if e.kind == "compiler":
            return e.text
        if e.kind == "speaker":
            m = re.search(r"我(?:受|代表)([\u4e00-\u9fff]{2,20}?(?:人民政府|管理委员会|管委会))", body[:3000])
            if m:
                return m.group(1)
    m = _BODY_ORG_RE.search(body[:80])
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
_ADOPTED_RE = re.compile(r"((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日[^。\n]{0,50}?(?:通过|批准|印发|发布)")
_FULL_DATE_RE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月")


def _years(doc_type: str, nominal: int | None, body: str, published: str | None,
           sign_date: str | None) -> tuple[int | None, int | None]:
    """(year covered, year issued). `nominal` is the year a title or a year column names: the
    covered year of an annual report (关于2021年度…), the session year of a 政府工作报告."""
    dated = int((sign_date or published)[:4]) if (sign_date or published) else None
    if dated is None and (m := _ADOPTED_RE.search(body[:400])):
        dated = int(m.group(1))  # （2024年4月26日…会议通过）
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
    if doc_type in ("提案/建议答复", "决议/决定", "实施方案/意见"):
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

    # Titles (original script): stated > a heading on the first lines > the file name.
    title_hint = _hint(hints, "title")
    stated = tidy_title(str(title_hint)) if title_hint else tidy_title(raw.title or clean.title or "")
    stated = stated if _is_title(stated) else ""
    heading = "" if stated else (_heading(clean.text) or "")
    from_file, file_year = file_title(str(hints["file_title"])) if hints.get("file_title") else (None, None)
    title = stated or heading or from_file or ""
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
        or iso_date(_pick(fields, _DATE_KEYS) or fields.get("时间") or fields.get("发布时间"))
        or sign_date
    )
    nominal = as_year(_hint(hints, "year"))
    if nominal is None and title:
        nominal = title_year(ftitle) or npc_year(ftitle)
    if nominal is None and ffile:
        nominal = title_year(ffile) or file_year
    year, issued_year = _years(doc_type, nominal, body, published, sign_date)

    # Place: columns > who speaks, the title, the file name, the issuer > how the text speaks of itself.
    hint_place = {k: fold(str(v)).strip() for k in ("region", "province", "city", "county")
                  if (v := _hint(hints, k)) is not None}
    evidence = [e for e in statements]
    if title:
        evidence.append(Evidence("title" if title != from_file else "file name", ftitle, w.title))
    if from_file and title != from_file:
        evidence.append(Evidence("file name", ffile, w.issuer_field))
    header_issuer = _pick(fields, _ISSUER_KEYS) or ""
    if header_issuer:
        evidence.append(Evidence("issuer field", header_issuer, w.issuer_field))
    hinted_issuer = _hint(hints, "issuer", "publisher")
    if hinted_issuer:
        evidence.append(Evidence("issuer column", fold(str(hinted_issuer)), w.issuer_field))
    if sign_org:
        evidence.append(Evidence("signature", sign_org, w.signature))
    national_text = " ".join((ftitle, header_issuer, fold(str(hinted_issuer or ""))))
    found = resolve_region(evidence, body, hint_place, national_text, w)
    place = found.place
    if hint_place.get("region") and place.region is None:
        place.region = hint_place["region"]  # a region kb does not know, kept as stated
    for key in ("province", "city", "county", "town", "level"):
        v = _hint(hints, key)
        if v:
            setattr(place, key, fold(str(v)).strip())

    if not title:
        title = _untitled(clean.text, place.region, year, issued_year, doc_type)
    elif heading and title == heading and place.region and not re.search(r"\d{4}|[〇一二三四五六七八九]{4}年", title) \
            and not scan_names(ftitle):
        # a printed heading that is only the kind of document (政府工作报告): say whose and which
        title = f"{issued_year or year}年{place.region}{title}" if (issued_year or year) else f"{place.region}{title}"
    return Metadata(
        title=title,
        doc_type=doc_type,
        year=year,
        published=published,
        issuer=issuer,
        region=place.region,
        province=place.province,
        city=place.city,
        county=place.county,
        town=place.town,
        level=place.level,
        issued_year=issued_year,
        region_confidence=found.confidence if place.region else None,
        region_evidence=found.summary if place.region else (found.summary or None),
    )
