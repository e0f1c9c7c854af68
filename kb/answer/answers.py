"""Answers people can cite: which regions do X, compare regions, figures side by side, similar practices.

Everything here is built from retrieved passages; nothing is generated. A region is listed as doing
a practice only when one of its passages *states* it — the practice or one of its variants occurs
(question.py decides what the practice is, against the corpus) — and the quote is the sentence that
contains those words, an exact substring of the document with its character span. Passages that are
only close in meaning are a second group, marked as such, never mixed into the first.

This layer talks to the index only through the searcher's public methods.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from kb.answer.figures import AMOUNT, extract_figures, figures_in, table_figures
from kb.models import Chunk, Document, Filters, Hit
from kb.query.evidence import Statement
from kb.query import budget
from kb.query.question import Intent, Practice, Reading, asks_quantity, indicator_of, is_content
from kb.query.search import ParsedQuery, Searcher

_SENTENCE_END = "。！？；!?;\n"
_NAMED = re.compile(r"[“「『][^”」』]{2,16}[”」』]")


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
    matched: str | None = None  # the words that state the practice, as the passage writes them
    match: str | None = None  # how they matched: 原词 / 去掉后缀的核心词“X” / 同义名称“Y” … / 语义相近（未直接提及）


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
    regions: list[RegionEntry] = field(default_factory=list)  # regions whose passage states the practice
    figures: list[Figure] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    related: list[RegionEntry] = field(default_factory=list)  # closest in meaning, NOT naming the practice
    practice: Practice | None = None
    notice: str | None = None  # said when what is shown is weak (nothing states the query's words)

    def to_dict(self) -> dict:
        p = self.practice
        return {
            "question": self.question,
            "intent": self.intent,
            "term": self.term,
            "answer": self.answer,
            "practice": None if p is None else {
                "asked": p.asked, "term": p.term, "attested": p.attested, "passages": p.passages,
                "units": p.units_dict(),
                "parts": list(p.parts),
            },
            "regions": [asdict(r) for r in self.regions],
            "related": [asdict(r) for r in self.related],
            "figures": [asdict(f) for f in self.figures],
            "hits": [h.to_dict() for h in self.hits],
            "notice": self.notice,
            "filters": {k: v for k, v in asdict(self.filters).items() if v is not None and k != "year_basis"},
        }


@dataclass(frozen=True)
class Question:
    text: str
    intent: Intent
    practice: Practice | None
    parsed: ParsedQuery
    words: tuple[str, ...] = ()  # the question's content words
    targets: tuple[str, ...] = ()  # regions (or years) to compare

    @property
    def term(self) -> str | None:
        return self.practice.term if self.practice else None

    @property
    def filters(self) -> Filters:
        return self.parsed.filters


@dataclass(frozen=True)
class SimilarPractices:
    """Passages from other regions like a given one; `practice` is what the source passage states."""

    practice: str | None
    hits: list[Hit]


def understand(searcher: Searcher, question: str, filters: Filters | None = None) -> Question:
    parsed = searcher.parse(question, filters)
    reading: Reading = searcher.read(parsed.folded, parsed.phrases)
    intent = reading.intent
    targets: tuple[str, ...] = ()
    quantity = asks_quantity(parsed.folded)
    names = tuple(searcher.names_in(parsed.folded)) if intent in ("compare", "figure", "general") else ()
    if intent == "compare" or len(names) >= 2:  # two regions named: side by side, each its own filter
        targets = names or tuple(sorted(set(re.findall(r"(?:19|20)\d{2}", parsed.folded))))
        if len(targets) >= 2:
            intent = "figure" if quantity else "compare"
            parsed = searcher.parse(question, filters, infer=False)  # a named region must not narrow both
        else:  # 对比各地的败诉率: nobody named, so every region, side by side
            targets = ()
            stated = reading.practice is not None and reading.practice.attested
            intent = "figure" if quantity else ("regions" if stated else "general")
    return Question(question, intent, reading.practice, parsed, reading.words, targets)


# ---- citations ----------------------------------------------------------------------------------
def sentence_span(chunk: Chunk, pos: int, length: int, quote_max: int = 220) -> tuple[int, int]:
    """[start, end) within the chunk of the sentence(s) around chunk.text[pos:pos+length]."""
    text = chunk.text
    start = max((text.rfind(ch, 0, pos) for ch in _SENTENCE_END), default=-1) + 1
    ends = [i for i in (text.find(ch, pos + length) for ch in _SENTENCE_END) if i >= 0]
    end = min(ends) + 1 if ends else len(text)
    if end - start > quote_max:  # a run-on sentence: keep a window around the term
        start = max(start, pos - quote_max // 3)
        end = min(end, max(pos + length, start + quote_max))
    while start < pos and text[start].isspace():
        start += 1
    while end > pos + length and text[end - 1].isspace():
        end -= 1
    return start, end


def cite(doc: Document, chunk: Chunk, at: int | None = None, length: int = 0, quote_max: int = 220) -> Citation:
    """A citation for a passage; with a position, the quote is the sentence that contains it."""
    s, e = sentence_span(chunk, at, length, quote_max) if at is not None else (0, len(chunk.text))
    m = doc.meta
    return Citation(doc.doc_id, chunk.chunk_id, m.title, doc.source, m.year, list(chunk.section),
                    chunk.text[s:e], chunk.start + s, chunk.start + e)


def quote_for(doc: Document, chunk: Chunk, practice: Practice, quote_max: int = 220) -> Citation | None:
    """The citation for a passage that states the practice: of the sentences that hold its words,
    the one that says most (figures, named measures, length); a sentence that is little more than a
    heading (3.强化行政复议应诉工作。) runs on into the next one, so the quote has substance."""
    best: tuple[tuple, int, int] | None = None
    for m in practice.find_all(chunk.folded):
        s, e = sentence_span(chunk, m.start, m.end - m.start, quote_max)
        e = _run_on(chunk, s, e, m.end, quote_max)
        key = (m.rank, _says(chunk.folded[s:e]), -s)
        if best is None or key > best[0]:
            best = (key, s, e)
    if best is None:
        return None
    _, s, e = best
    m = doc.meta
    return Citation(doc.doc_id, chunk.chunk_id, m.title, doc.source, m.year, list(chunk.section),
                    chunk.text[s:e], chunk.start + s, chunk.start + e)


def _run_on(chunk: Chunk, start: int, end: int, must_end: int, quote_max: int, short: int = 40) -> int:
    """Extend a short quote [start, end) through the following sentences, up to `quote_max`."""
    text = chunk.text
    while end - start < short and end < len(text):
        ends = [i for i in (text.find(ch, end) for ch in _SENTENCE_END) if i >= 0]
        nxt = (min(ends) + 1) if ends else len(text)
        if nxt - start > quote_max:
            break
        end = nxt
    while end > must_end and text[end - 1].isspace():
        end -= 1
    return end


def _says(text: str) -> int:
    return 3 * len(AMOUNT.findall(text)) + 2 * len(_NAMED.findall(text)) + min(len(text) // 40, 4)


def heading_only(chunk: Chunk) -> bool:
    """A passage that is little more than its heading (（四）行政复议): nothing to quote as substance."""
    body = chunk.text.strip()
    if chunk.section and body.endswith(chunk.section[-1].strip()[-12:]) and len(body) <= len(chunk.section[-1]) + 12:
        return True
    return len(body) < 40 and not any(ch in body for ch in "。；;")


def substance(chunk: Chunk) -> int:
    """How much a passage says: figures, counts and named measures (for compare and similar)."""
    return 2 * len(AMOUNT.findall(chunk.folded)) + len(_NAMED.findall(chunk.folded)) + min(len(chunk.text) // 150, 3)


# ---- the intents --------------------------------------------------------------------------------
class Answerer:
    def __init__(self, searcher: Searcher) -> None:
        self.s = searcher
        self.cfg = searcher.settings.answer

    def ask(self, question: str, filters: Filters | None = None, k: int = 10) -> Answer:
        q = understand(self.s, question, filters)
        if q.intent == "compare":
            return self._compare(q, k)
        if q.intent == "figure":
            return self._figures(q, k)
        if q.intent == "regions":
            return self._regions(q, k)
        hits = self.s.search(question, k=k, filters=q.filters, infer_filters=False)
        notice = weak_notice(hits)
        answer = notice or (f"找到 {len(hits)} 段相关原文。" if hits else "未找到相关内容。")
        return Answer(question, "general", q.term, answer, hits=hits, filters=q.filters, practice=q.practice,
                      notice=notice)

    # which regions ----------------------------------------------------------------------------
    def stating(self, q: Question) -> list[tuple[Hit, Statement]]:
        """Every passage (inside the filters) that states the practice, best first, with where it does."""
        p = q.practice
        if p is None:
            return []
        ids = self.s.rows_stating(p, q.filters)
        if not ids:
            return []
        ranked = self.s.search(p.term, k=min(len(ids), self.cfg.deep), filters=q.filters, infer_filters=False,
                               depth=min(len(ids), self.cfg.deep), restrict=ids)
        seen = {h.chunk.chunk_id for h in ranked}
        rest = [c for c in ids if c not in seen]
        if rest:  # beyond the ranked depth (or in neither leg): still stated, still listed
            chunks = self.s.chunks(rest)
            ranked += [Hit(len(ranked) + i + 1, 0.0, None, None, chunks[c], self.s.docs[chunks[c].doc_id])
                       for i, c in enumerate(c for c in rest if c in chunks and chunks[c].doc_id in self.s.docs)]
        out = []
        for h in ranked:
            m = p.find(h.chunk.folded)
            if m is not None:
                out.append((h, m))
        return out

    def related(self, q: Question, exclude: set[int], regions_listed: set[str]) -> list[RegionEntry]:
        """Passages close to the question that do not state the practice, as their own group: first
        those that hold every part of a practice no passage states as a whole; then the closest in
        meaning — candidates from a hybrid search of the question that share at least half of its
        words (among them a word that can name a practice, or two words), within `dense_margin` of
        the best similarity. Regions already listed as stating it are left out."""
        p = q.practice
        words = list(q.words)
        entries: dict[tuple[str, int | None], RegionEntry] = {}

        def add(h: Hit, label: str, pos: int | None) -> None:
            m = h.doc.meta
            region = m.region or m.issuer or m.title
            if region in regions_listed or m.level == "national":
                return
            key = (region, m.year)
            if key not in entries:
                if len(entries) >= self.cfg.related_regions:
                    return
                entries[key] = RegionEntry(region, m.province, m.level, m.year, 0, match=label)
            e = entries[key]
            e.mentions += 1
            if len(e.citations) < 2:
                e.citations.append(cite(h.doc, h.chunk, pos, 0, self.cfg.quote_max) if pos is not None
                                   else cite(h.doc, h.chunk))

        if p is not None and len(p.parts) >= 2:
            ids = [c for c in self.s.rows_with_parts(p, q.filters) if c not in exclude]
            if ids:
                for h in self.s.search(p.asked, k=min(len(ids), self.cfg.deep), filters=q.filters,
                                       infer_filters=False, restrict=ids):
                    found = p.find_parts(h.chunk.folded)
                    add(h, f"含全部关键词“{'”“'.join(p.parts)}”（未原样提及）", found.start if found else None)
                    exclude = exclude | {h.chunk.chunk_id}
        if not words or budget.current().expired():  # past the deadline: what was found so far
            return list(entries.values())
        need = (len(words) + 1) // 2

        def shares(folded: str) -> bool:
            shared = [w for w in words if w in folded]
            return len(shared) >= need and (len(shared) >= 2 or any(is_content(w) for w in shared))

        hits = self.s.search(q.text, k=self.cfg.deep, filters=q.filters, infer_filters=False, depth=self.cfg.deep)
        cands = [h for h in hits if h.chunk.chunk_id not in exclude and h.dense_rank and not heading_only(h.chunk)
                 and shares(h.chunk.folded)]
        sims = self.s.similarities(q.text, [h.chunk.chunk_id for h in cands])
        if sims:
            best = max(sims.values())
            close = sorted((h for h in cands if sims.get(h.chunk.chunk_id, -1) >= best - self.cfg.dense_margin),
                           key=lambda h: -sims[h.chunk.chunk_id])
            # each quoted at its sentence nearest the question (sentence vectors, query/semantic.py)
            nearest = self.s.sentence_similarities(q.text, [h.chunk.chunk_id for h in close]) if close else {}
            for h in close:
                at = nearest.get(h.chunk.chunk_id)
                add(h, "语义相近（未直接提及）", at[1] if at else _first_word(h.chunk.folded, words))
        return list(entries.values())

    def _regions(self, q: Question, k: int) -> Answer:
        p = q.practice
        found = self.stating(q)
        partial: list[tuple[Hit, Statement]] = []
        if p is not None and len(p.concepts) > 1:  # asked together: a region states every one
            said: dict[str, set[int]] = {}
            for h, m in found:
                said.setdefault(_region_of(h.doc), set()).add(m.concept)
            every = {r for r, cs in said.items() if len(cs) == len(p.concepts)}
            partial = [(h, m) for h, m in found if _region_of(h.doc) not in every]
            found = [(h, m) for h, m in found if _region_of(h.doc) in every]
        entries = group_by_region(found, p, self.cfg.quote_max, self.cfg.citations_per_region)
        listed = {e.region for e in entries}
        related = self.related(q, {h.chunk.chunk_id for h, _ in found}, listed)
        if partial:
            one = group_by_region(partial, p, self.cfg.quote_max, 1)
            for e in one:
                e.match = "只提及其中一项：" + (e.match or "")
            related = one + [e for e in related if e.region not in {o.region for o in one}]
        national = sum(1 for h, _ in found if h.doc.meta.level == "national")
        hits = [h for h, _ in found][:k]
        asked = p.asked if p else q.text
        scope = q.filters.describe()
        if entries:
            answer = (f"（范围：{scope}）" if scope else "") + \
                f"共 {len(listed)} 个地区提及“{p.term}”：" + "、".join(_region_labels(entries))
            if p.term != p.asked:
                answer += f"（问题中的“{p.asked}”在语料中没有原样出现，按“{p.term}”匹配）"
            variants = sorted({e.match for e in entries if e.match and not e.match.startswith("原词")})
            if variants:
                answer += "；其中按变体匹配：" + "、".join(variants)
            if national:
                answer += f"（另有 {national} 段全国性文件提及）"
        else:
            answer = (f"（范围：{scope}）" if scope else "") + \
                (f"没有报告提及“{asked}”。" if p else "未能从问题中识别出要查的做法。")
        if related:
            label = "、".join(_region_labels(related))
            answer += (f" 另有 {len({e.region for e in related})} 个地区有语义相近的段落，但未直接提及：{label}"
                       if entries else f" 语义最接近的段落（未直接提及，仅供参考）来自：{label}")
        elif not entries:
            answer += " 也没有语义足够接近的段落。"
        return Answer(q.text, "regions", q.term, answer, regions=entries, hits=hits, filters=q.filters,
                      related=related, practice=p)

    # compare ---------------------------------------------------------------------------------
    def _compare(self, q: Question, k: int) -> Answer:
        p = q.practice
        topic = p.term if p else q.parsed.folded
        entries: list[RegionEntry] = []
        sides: list[list[Hit]] = []
        for target in q.targets:
            if entries and budget.current().expired():  # past the deadline: the sides compared so far
                break
            year = int(target) if target.isdigit() else None
            f = self._side_filters(q, target)
            # A region's own reports speak for it (广东省's, not a district's inside it), when it has any.
            own = None if year else self.s.chunks_of_region(target, f)
            ids = self.s.rows_stating(p, f) if p else []
            if own:
                ids = [c for c in ids if c in own]
            pool = self.s.search(topic, k=60, filters=f, infer_filters=False, restrict=ids or own or None)
            pool = [h for h in pool if not heading_only(h.chunk)] or pool
            # Substance first: passages that state the topic, then those with figures and named measures.
            pool.sort(key=lambda h: (-(p is not None and p.find(h.chunk.folded) is not None), -substance(h.chunk), h.rank))
            chosen = pool[:3]
            sides.append(chosen)
            if not chosen:
                entries.append(RegionEntry(target, None, None, year, 0))
                continue
            m0 = chosen[0].doc.meta
            cites = []
            for h in chosen:
                c = quote_for(h.doc, h.chunk, p, self.cfg.quote_max) if p else None
                cites.append(c or _substance_cite(h, self.cfg.quote_max))
            entries.append(RegionEntry(target, m0.province, m0.level if own or year is None and m0.region == target
                                       else None, year or m0.year, len(ids) or len(chosen), cites))
        hits = [h for group in _interleave(sides) for h in group][:k]
        hits = [Hit(i + 1, h.score, h.bm25_rank, h.dense_rank, h.chunk, h.doc, h.weak) for i, h in enumerate(hits)]
        with_hits = [e.region for e in entries if e.citations]
        missing = [e.region for e in entries if not e.citations]
        answer = f"对比 {len(entries)} 个对象在“{topic}”方面的原文：" + "、".join(with_hits)
        if missing:
            answer += f"；未找到：{'、'.join(missing)}"
        return Answer(q.text, "compare", q.term, answer, regions=entries, hits=hits, filters=q.filters, practice=p)

    # figures ---------------------------------------------------------------------------------
    def _figures(self, q: Question, k: int) -> Answer:
        """Numbers stated right after the indicator — or any of its variants (行政复议 for 行政复议案件
        数量) — in every passage that states it, each with the sentence it is in."""
        p = q.practice if q.practice is None else indicator_of(q.practice, self.s, lambda x: bool(self.s.rows_stating(x)))
        indicator = p.term if p else ""
        sides = [(t, self._side_filters(q, t)) for t in q.targets] or [(None, q.filters)]
        figures: list[Figure] = []
        found_hits: list[list[Hit]] = []
        missing: list[str] = []
        for target, filters in sides:
            if found_hits and budget.current().expired():  # past the deadline: the sides read so far
                break
            side, hits = self._figures_within(p, indicator, filters)
            found_hits.append(hits)
            figures += side
            if target is not None and not side:
                missing.append(target)
        if not q.targets:
            figures.sort(key=lambda f: (f.region, f.year or 0, f.indicator))
        hits = [h for group in _interleave(found_hits) for h in group][:k] if q.targets else found_hits[0][:k]
        if figures:
            answer = f"找到 {len(figures)} 个“{indicator}”数值，来自 {len({f.region for f in figures})} 个地区："
            answer += "；".join(f"{f.region}（{f.year or '年份不详'}）{f.indicator} {f.value}" for f in figures[:8])
            if missing:
                answer += f"；未找到：{'、'.join(missing)}"
            if p is not None and p.term != p.asked:
                answer += f"（问题中的“{p.asked}”在语料中没有原样出现，按“{p.term}”匹配）"
        else:
            answer = f"未找到“{indicator}”的具体数值。" if indicator else "未能从问题中识别出要查的指标。"
        return Answer(q.text, "figure", indicator or None, answer, figures=figures, hits=hits, filters=q.filters,
                      practice=p)

    def _figures_within(self, p: Practice | None, indicator: str, filters: Filters) -> tuple[list[Figure], list[Hit]]:
        """The figures stated inside `filters`, and the passages searched for them."""
        ids = self.s.rows_stating(p, filters) if p is not None else []
        hits = self.s.search(indicator, k=min(len(ids), self.cfg.deep), filters=filters, infer_filters=False,
                             depth=min(len(ids), self.cfg.deep), restrict=ids) if ids else []
        if indicator:  # a table names its cells by row and column: passages that need not state it whole
            seen_ids = {h.chunk.chunk_id for h in hits}
            more = self.s.search(indicator, k=self.cfg.deep, filters=filters, infer_filters=False, depth=self.cfg.deep)
            tables = self.s.table_passages(h.chunk.chunk_id for h in more if h.chunk.chunk_id not in seen_ids)
            hits += [h for h in more if h.chunk.chunk_id not in seen_ids and (h.chunk.chunk_id in tables or p is None)]
        figures: list[Figure] = []
        seen: set[tuple[str, int]] = set()
        tables = self.s.table_passages(h.chunk.chunk_id for h in hits)
        for h in hits:
            found = figures_in(h.chunk, p) if p is not None else extract_figures(h.chunk, indicator)
            if p is not None and h.chunk.chunk_id in tables:  # a cell of a flattened table
                found += [f for f in table_figures(h.chunk, p, tables[h.chunk.chunk_id])
                          if all(f[2] + f[3] <= g[2] or g[2] + g[3] <= f[2] for g in found)]
            for name, value, pos, length in found:
                key = (h.doc.doc_id, h.chunk.start + pos)
                if key in seen:
                    continue
                seen.add(key)
                m = h.doc.meta
                figures.append(Figure(m.region or m.title, m.year, name, value,
                                      cite(h.doc, h.chunk, pos, length, self.cfg.quote_max)))
        return figures, hits

    def _side_filters(self, q: Question, target: str) -> Filters:
        """One side of a comparison: a year keeps the question's region; a region keeps its years."""
        if target.isdigit():
            year = int(target)
            return Filters(year_from=year, year_to=year, region=q.filters.region, province=q.filters.province)
        return Filters(region=target, year_from=q.filters.year_from, year_to=q.filters.year_to)

    # similar practices -----------------------------------------------------------------------
    def practice_of(self, chunk: Chunk, doc: Document) -> str | None:
        """The practice a passage states that other regions' reports state too: the most specific
        name it writes — in its heading, quoted, defined in the glossary, in fewer passages — that is
        not a generic word most reports write (see answer/similar.py)."""
        from kb.answer.similar import practices_in

        found = practices_in(self.s, chunk, doc)
        return found[0] if found else None

    def similar(self, chunk_id: int, k: int = 10) -> SimilarPractices:
        """Other regions' passages that state the practice this passage states, or a near one
        (glossary neighbours), then the nearest statements down to a calibrated similarity — each
        with its quote; the list ends where the evidence ends (answer/similar.py)."""
        from kb.answer.similar import similar_practices

        return similar_practices(self.s, chunk_id, k)




def group_by_region(found: list[tuple[Hit, Statement]], practice: Practice | None, quote_max: int = 220,
                    citations: int = 3) -> list[RegionEntry]:
    """One entry per (region, year), best passage first; national documents are not regions. Each
    quote is the sentence holding the words that state the practice."""
    groups: dict[tuple[str, int | None], RegionEntry] = {}
    for h, match in found:
        m = h.doc.meta
        if m.level == "national":
            continue
        region = m.region or m.issuer or m.title
        key = (region, m.year)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = RegionEntry(region, m.province, m.level, m.year, 0,
                                              matched=h.chunk.text[match.start:match.end],
                                              match=practice.describe(match, h.chunk.text) if practice else None)
        entry.mentions += 1
        if len(entry.citations) < citations:
            c = quote_for(h.doc, h.chunk, practice, quote_max) if practice else None
            entry.citations.append(c or cite(h.doc, h.chunk, match.start, match.end - match.start, quote_max))
    return list(groups.values())


def _region_of(doc: Document) -> str:
    """The name a document is filed under in answers (its region, else issuer, else title)."""
    m = doc.meta
    return m.region or m.issuer or m.title


def _region_labels(entries: list[RegionEntry]) -> list[str]:
    years: dict[str, list[str]] = {}
    for e in entries:
        years.setdefault(e.region, []).append(str(e.year) if e.year else "年份不详")
    return [f"{r}（{'、'.join(ys)}）" for r, ys in years.items()]


def _first_word(folded: str, words: list[str]) -> int | None:
    found = [i for i in (folded.find(w) for w in words) if i >= 0]
    return min(found) if found else None


def _substance_cite(h: Hit, quote_max: int) -> Citation:
    m = AMOUNT.search(h.chunk.folded) or _NAMED.search(h.chunk.folded)
    return cite(h.doc, h.chunk, m.start(), m.end() - m.start(), quote_max) if m else cite(h.doc, h.chunk)


def _interleave(sides: list[list[Hit]]) -> list[list[Hit]]:
    """Round-robin rows (one hit of each side per row), so both sides show."""
    rows = []
    for i in range(max((len(s) for s in sides), default=0)):
        rows.append([s[i] for s in sides if i < len(s)])
    return rows


def weak_notice(hits: list[Hit]) -> str | None:
    if hits and all(h.weak for h in hits):
        return "没有段落包含查询中的词语；以下是语义最接近的段落，仅供参考，可能并不相关。"
    return None
