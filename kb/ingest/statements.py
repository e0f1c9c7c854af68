"""What a report says about itself: who speaks (我代表光明区人民政府…), the session it was given at,
who compiled it, the byline, the signature at the end, and how it speaks of itself (我区 / 本区 /
全区 make it a 区). ingest/region.py weighs these into the document's region; ingest/metadata.py
takes the issuer and the date from them.

The words are data: organisation endings in `kb/data/organisations.txt` (one list, also used for
issuers), unit kinds and comparisons in `kb/data/places.txt`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from kb import rules
from kb.ingest.places import Unit
from kb.settings import PlaceSettings

__all__ = ["Evidence", "kind_fits", "org_suffixes", "self_kind", "self_statements", "signature"]


@dataclass(frozen=True)
class Evidence:
    """A piece of text that says whose document this is, and how much that counts."""

    kind: str  # column, speaker, session, compiler, signature, byline, title, file name, issuer field, url
    text: str
    weight: float


def org_suffixes(short: bool = False) -> str:
    """A regex alternation of the endings of an organisation's name (人民政府, 司法局, 管委会 …),
    longest first; with `short`, also the endings that count only where a name's end is certain
    (政府, 局, 委). One list, kb/data/organisations.txt."""
    words = rules.words("organisations.txt", "suffixes") + (rules.words("organisations.txt", "short suffixes") if short else ())
    return "|".join(re.escape(w) for w in sorted(dict.fromkeys(words), key=len, reverse=True))


@dataclass(frozen=True)
class _Rules:
    speaker: re.Pattern[str]
    session: re.Pattern[str]
    compiler: re.Pattern[str]
    byline: re.Pattern[str]
    sign: re.Pattern[str]
    org_line: re.Pattern[str]
    self_ref: re.Pattern[str]  # 我区 / 本区 / 全区
    compare_after: re.Pattern[str]
    compare_before: frozenset[str]
    kind_of_speaker: re.Pattern[str]
    issuer_kind: re.Pattern[str]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    speaker = rules.alternation("organisations.txt", "speaker")
    kinds = rules.alternation("places.txt", "unit kinds")
    return _Rules(
        speaker=re.compile(r"我(?:受|代表)([\u4e00-\u9fff]{0,20}?)(?:" + speaker + r")(?:的委托)?[,，、]?\s*(?:向|现在|作)"),
        session=re.compile(
            r"在([\u4e00-\u9fff]{2,20}?)第[一二三四五六七八九十\d]{1,3}届\s*人民代表大会\s*(?:常务委员会)?\s*"
            r"第[一二三四五六七八九十\d]{1,3}次\s*(?:全体)?会议上"),
        compiler=re.compile(r"本报告由([\u4e00-\u9fff]{2,30}?)(?:根据|依据|按照|编制|负责)"),
        byline=re.compile(r"^\s*([\u4e00-\u9fff]{2,16}?)(?:人民政府)?(" + rules.alternation("organisations.txt", "leaders")
                          + r")[\s\u3000]*[\u4e00-\u9fff]", re.MULTILINE),
        sign=re.compile(r"([\u4e00-\u9fff（）()]{2,30}?(?:" + org_suffixes(short=True) + r"))[\s|]*$"),
        org_line=re.compile(r"[\u4e00-\u9fff（）()、\s]{2,40}?(?:" + org_suffixes(short=True) + r")"),
        self_ref=re.compile(r"(我|本|全)(" + kinds + ")"),
        compare_after=re.compile("|".join(f"(?:{x})" for x in rules.lines("places.txt", "compare after"))),
        compare_before=rules.word_set("places.txt", "compare before"),
        kind_of_speaker=re.compile(r"我(?:受|代表)(" + kinds + r")(?:" + speaker + ")"),
        issuer_kind=re.compile(r"^(" + kinds + ")"),
    )


def self_statements(body: str, w: PlaceSettings = PlaceSettings()) -> list[Evidence]:
    """Who the text says is speaking: the speaker, the session, the compiler, the byline."""
    r = _rules()
    head = body[:3000]
    out: list[Evidence] = []
    for rx, kind in ((r.speaker, "speaker"), (r.session, "session"), (r.compiler, "compiler")):
        m = rx.search(head)
        if m and m.group(1):
            out.append(Evidence(kind, m.group(1), w.speaker))
    m = r.byline.search(body[:600])
    if m:
        out.append(Evidence("byline", m.group(1), w.speaker))
    return out


_DATE_END = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
                       r"|[〇零○Ｏ一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月\s*[一二三四五六七八九十]{1,3}\s*日")


@lru_cache(maxsize=1)
def _issued_words() -> frozenset[str]:
    return rules.word_set("dates.txt", "adopted")


def signature(body: str) -> tuple[str | None, str | None]:
    """(organisation, ISO date) of the closing signature, if the text ends with one."""
    from kb.ingest.dates import dates

    tail = body[-300:]
    ds = dates(tail)
    if not ds:
        return None, None
    pos, iso = ds[-1]
    after = tail[pos:]
    if len(re.sub(r"[\s|\d年月日〇零○一二三四五六七八九十-]", "", after)) > 40:
        return None, None  # the last date is inside prose, not a signature
    # a signature's date ends its line (…同时废止 after a date is a sentence going on) and follows a
    # line break, a sentence end or the organisation signing
    end = _DATE_END.match(tail, pos)
    rest = re.sub(r"[（(][^）)]*[）)]|[\s|）)]", "", tail[end.end() if end else pos :].split("\n", 1)[0])
    if rest and rest not in _issued_words():  # 2022年4月3日印发 (a 公文's imprint) still dates it
        return None, None
    before = re.split(r"[。；;！!？?\n]", tail[:pos])[-1].strip(" \t\u3000|（(")
    if before and not _rules().org_line.fullmatch(before):
        return None, None
    org = None
    above = tail[:pos].rstrip()
    m = _rules().sign.search(above)
    if m:
        # Keep only the last clause (signatures follow a sentence end or whitespace).
        org = re.split(r"[。；;，,：:！!？?\s]", m.group(1))[-1] or None
    if org and above.endswith(org):
        # bodies signing together, one a line (杭州市司法局 / 杭州高新技术产业开发区管理委员会)
        lines = above[: len(above) - len(org)].rstrip().split("\n")
        orgs = [org]
        while len(lines) > 1 and _rules().org_line.fullmatch(lines[-1].strip(" \t\u3000|")) and len(orgs) < 4:
            orgs.insert(0, lines.pop().strip(" \t\u3000|"))
        org = "、".join(orgs)
    return org, iso


def self_kind(body: str, issuer: str | None = None, w: PlaceSettings = PlaceSettings()) -> tuple[str | None, Counter[str]]:
    """The kind of unit the author is (区, 县, 市, 省 …) by how the text speaks, with the votes.
    全市第一 and 占全市 compare a district with its city: they are not the author speaking."""
    r = _rules()
    votes: Counter[str] = Counter()
    for m in r.self_ref.finditer(body):
        if m.group(1) == "全":
            if r.compare_after.match(body, m.end()) or (m.start() > 0 and body[m.start() - 1] in r.compare_before):
                continue
            votes[m.group(2)] += w.self_all
        else:
            votes[m.group(2)] += w.self_mine
    m = r.kind_of_speaker.search(body[:3000])
    if m:
        votes[m.group(1)] += w.speaker_kind
    if issuer:
        m = r.issuer_kind.match(issuer)
        if m:
            votes[m.group(1)] += w.speaker_kind / 2
    if not votes:
        return None, votes
    return votes.most_common(1)[0][0], votes


def kind_fits(unit: Unit, kind: str) -> bool:
    """Does a unit answer to 我区 / 我市 …? (全区 in a 自治区 report is the 自治区; 我市 in 北京 is 北京市)"""
    if kind == "省":
        return unit.level == "province" and unit.name.endswith("省")
    if kind == "自治区":
        return unit.level == "province" and unit.name.endswith("自治区")
    if kind in ("镇", "乡", "街道"):
        return unit.level == "town" and unit.name.endswith(kind)
    if kind == "区" and unit.level == "province":
        return unit.name.endswith(("自治区", "特别行政区"))
    if kind == "市" and unit.level == "province":
        return unit.name.endswith("市")
    return unit.level in ("city", "county") and unit.name.endswith(kind)


def votes_text(votes: Counter[str], kind: str) -> str:
    return f"speaks as a {kind} ({votes[kind]:g} votes: 我{kind}/本{kind}/全{kind}…)"
