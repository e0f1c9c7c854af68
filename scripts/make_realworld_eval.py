"""Build the judged evaluation sets from ../shared, mechanically, so anyone can rerun and check them.

    python scripts/make_realworld_eval.py            # write eval/realworld_queries.jsonl, eval/sample_queries.jsonl
    python scripts/make_realworld_eval.py --check    # exit 1 if the committed files differ from a fresh build

Which-regions ground truth is never typed in: each region query names a practice plus the variants
listed for it by hand (`core` = the practice without its institutional suffix, `swap` = the swapped
two-part compound, `punct` = the words with punctuation between, `synonym` = another name for it).
A report states the practice when the practice or one of those variants occurs in its text after
folding (OpenCC t2s, full-width ASCII to half-width) with quote marks and whitespace removed
(“一网通办”平台 == 一网通办平台; PDF line breaks inside a phrase do not hide it). Its region is the
hand-mapped label of the report (what the report is ABOUT, from its title/file name), never a place
it merely mentions. The failure classes each query is meant to cover (`covers`) are asserted
against the corpus, so a label that no longer exercises its class fails the build.

The other kinds (figure, paraphrase, lexical, filtered, traditional, national) are hand-written
below; every `relevant` item is checked: `doc` must pick out exactly one document and `contains`
must occur in that document's folded text.

The specs live in scripts/eval_specs.py (data only); this file is the machinery.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_specs as specs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
QUOTES = "“”‘’\"'「」『』"
STRIP = re.compile(rf"[\s{re.escape(QUOTES)}]")
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20


# ---------------------------------------------------------------------------------------------
# text forms


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """Traditional→Simplified and full-width→half-width, keeping length (as kb's search form does)."""
    conv = _t2s().convert
    out = conv(text)
    if len(out) != len(text):  # a phrase rule changed length: convert char by char instead
        out = "".join(c if len(s := conv(c)) != 1 else s for c in text)
    return out.translate(_WIDTH)


@dataclass
class Doc:
    key_name: str  # what `doc` keys are matched against (file name or title)
    title: str
    folded: str
    label: str | None = None  # region label (None: not a region, e.g. national reports)
    key_doc: str = ""  # the `doc` key written into judged items for this document
    stripped: str = ""
    index: list[int] = field(default_factory=list)  # stripped[i] came from folded[index[i]]

    def __post_init__(self) -> None:
        keep = [i for i, c in enumerate(self.folded) if not STRIP.match(c)]
        self.index = keep
        self.stripped = "".join(self.folded[i] for i in keep)

    def span_text(self, start: int, length: int) -> str:
        """The text behind stripped[start:start+length] as the passage has it, quote marks included
        (行政执法“三项制度” stays so); where a line break cuts the phrase (PDFs),
        the longest piece between breaks."""
        a, b = self.index[start], self.index[start + length - 1] + 1
        piece = max(re.split(r"\s+", self.folded[a:b]), key=len)
        return piece.strip(QUOTES)


def norm(term: str) -> str:
    return STRIP.sub("", fold(term))


# ---------------------------------------------------------------------------------------------
# corpora


def realworld_docs() -> list[Doc]:
    rows = [json.loads(l) for l in (SHARED / "corpus/realworld/reports.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    docs = []
    for row in rows:
        name = Path(row["raw_file"]).name
        if not (SHARED / "corpus/realworld" / row["raw_file"]).exists():
            raise SystemExit(f"{row['raw_file']}: listed in reports.jsonl but missing")
        key, label = key_of(name, specs.REALWORLD_REPORTS)
        docs.append(Doc(name, row["title"], fold(row["content"]), label, key))
    return docs


def sample_docs() -> list[Doc]:
    docs = []
    for path in sorted((SHARED / "corpus/seeds").glob("*.txt")):
        key, label = key_of(path.stem, specs.SAMPLE_REPORTS)
        docs.append(Doc(path.stem, path.stem, fold(path.read_text(encoding="utf-8")), label, key))
    for line in (SHARED / "corpus/national/government_work_reports.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            docs.append(Doc(row["title"], row["title"], fold(row["content"]), None, row["title"]))
    return docs


def key_of(name: str, reports: list[tuple[str, str, str]]) -> tuple[str, str]:
    """(doc key, region label) of the one report whose key is part of this file name."""
    hits = [(key, label) for key, label, _ in reports if key in name]
    if len(hits) != 1:
        raise SystemExit(f"{name}: {len(hits)} report keys match (want exactly one)")
    return hits[0]


def check_labels(reports: list[tuple[str, str, str]]) -> None:
    """No label may substring-match another region's label or full name (深圳 vs 光明区, 江西 vs 广西)."""
    full = {label: name for _, label, name in reports}
    for a, name_a in full.items():
        if a not in name_a:
            raise SystemExit(f"label {a} is not part of its region name {name_a}")
        for b, name_b in full.items():
            if a != b and (a in b or a in name_b):
                raise SystemExit(f"label {a} substring-matches region {b} ({name_b})")


def find_doc(docs: list[Doc], key: str) -> Doc:
    hits = [d for d in docs if key in d.key_name or key in d.title]
    if len(hits) != 1:
        raise SystemExit(f"doc key {key!r} matches {len(hits)} documents (want exactly one)")
    return hits[0]


# ---------------------------------------------------------------------------------------------
# which-regions queries


@dataclass
class Match:
    doc: Doc
    kind: str  # practice | core | swap | punct | synonym
    contains: str
    via_quotes: bool  # only found once quote marks / whitespace were removed


def scan(doc: Doc, spec: dict) -> Match | None:
    """The first listed form (practice first) that the document states, or None."""
    forms = [("practice", spec["practice"])] + [(k, v) for k, vs in spec.get("variants", {}).items() for v in vs]
    for kind, form in forms:
        n = norm(form)
        at = doc.stripped.find(n)
        if at >= 0:
            verbatim = fold(form) in doc.folded
            return Match(doc, kind, doc.span_text(at, len(n)), via_quotes=not verbatim)
    return None


def region_query(spec: dict, docs: list[Doc]) -> dict:
    qid, query = spec["id"], spec["query"]
    practice = norm(spec["practice"])
    if practice not in norm(query):
        raise SystemExit(f"{qid}: the question does not name the practice {spec['practice']}")
    matches = [m for d in docs if d.label and (m := scan(d, spec))]
    regions = sorted({m.doc.label for m in matches}, key=[d.label for d in docs].index)
    assert_covers(spec, docs, matches, regions)
    if matches:
        relevant = pick_relevant(matches)
    else:
        relevant = [check_relevant(docs, d, c, qid) for d, c in spec["near"]]
    out = {"id": qid, "kind": "region", "query": query, "relevant": relevant, "regions": regions,
           "practice": spec["practice"], "variants": spec.get("variants", {}), "covers": spec["covers"]}
    if spec.get("generic"):
        out["generic"] = spec["generic"]
    return out


def pick_relevant(matches: list[Match], limit: int | None = None) -> list[dict]:
    """Every report that states it (or up to `limit`: one per way of stating it first — literal,
    quoted, core, swap … — then one per region in corpus order, then the rest). kb eval caps the
    recall denominator at k, so a practice stated by 33 reports asks for 10 of them in the top 10."""
    chosen: list[Match] = []
    seen_kind: set[tuple[str, bool]] = set()
    for m in matches:
        if (m.kind, m.via_quotes) not in seen_kind:
            seen_kind.add((m.kind, m.via_quotes))
            chosen.append(m)
    for m in matches:
        if m not in chosen and m.doc.label not in {c.doc.label for c in chosen}:
            chosen.append(m)
    chosen += [m for m in matches if m not in chosen]
    chosen = sorted(chosen[:limit] if limit else chosen, key=matches.index)
    return [{"doc": m.doc.key_doc, "contains": m.contains} for m in chosen]


def assert_covers(spec: dict, docs: list[Doc], matches: list[Match], regions: list[str]) -> None:
    """Each failure class a query claims to cover must really be exercised by the corpus."""
    qid = spec["id"]
    folded_query = fold(spec["query"])
    rules = {
        "generic": lambda: any(norm(g) in d.stripped and d not in [m.doc for m in matches]
                               for g in spec.get("generic", []) for d in docs if d.label),
        "suffix": lambda: any(m.kind == "core" for m in matches) or (not matches and "core" in spec.get("variants", {})),
        "quote": lambda: any(m.via_quotes for m in matches) or any(m.kind == "punct" for m in matches),
        "swap": lambda: any(m.kind == "swap" for m in matches),
        "synonym": lambda: any(m.kind == "synonym" for m in matches),
        "extra": lambda: len(folded_query) - len(fold(spec["practice"])) >= 6,
        "few": lambda: 1 <= len(regions) <= 2,
        "none": lambda: not regions,
        "traditional": lambda: folded_query != spec["query"],
    }
    for cls in spec["covers"]:
        if not rules[cls]():
            raise SystemExit(f"{qid}: claims to cover {cls!r} but the corpus does not exercise it")


# ---------------------------------------------------------------------------------------------
# hand-written queries


def check_relevant(docs: list[Doc], key: str, contains: str, qid: str) -> dict:
    doc = find_doc(docs, key)
    if fold(contains) not in doc.folded:
        raise SystemExit(f"{qid}: {contains!r} does not occur in {doc.key_name}")
    return {"doc": key, "contains": contains}


def plain_query(spec: dict, docs: list[Doc]) -> dict:
    relevant = [check_relevant(docs, d, c, spec["id"]) for d, c in spec["relevant"]]
    return {"id": spec["id"], "kind": spec["kind"], "query": spec["query"], "relevant": relevant}


# ---------------------------------------------------------------------------------------------


def build(docs: list[Doc], reports: list[tuple[str, str, str]], region_specs: list[dict], plain_specs: list[dict]) -> list[dict]:
    check_labels(reports)
    for key, _, _ in reports:
        find_doc(docs, key)  # each key picks out exactly one document (file name or title)
    rows = [region_query(s, docs) for s in region_specs] + [plain_query(s, docs) for s in plain_specs]
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate query ids")
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    global SHARED
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    ap.add_argument("--summary", action="store_true", help="print each region query's regions")
    ap.add_argument("--shared", default=str(SHARED), help="the shared folder (default: ../shared beside the repo)")
    args = ap.parse_args()
    SHARED = Path(args.shared)
    sets = {
        ROOT / "eval/realworld_queries.jsonl": build(realworld_docs(), specs.REALWORLD_REPORTS,
                                                     specs.REALWORLD_REGION_QUERIES, specs.REALWORLD_OTHER_QUERIES),
        ROOT / "eval/sample_queries.jsonl": build(sample_docs(), specs.SAMPLE_REPORTS,
                                                  specs.SAMPLE_REGION_QUERIES, specs.SAMPLE_OTHER_QUERIES),
    }
    stale = []
    for path, rows in sets.items():
        text = render(rows)
        kinds: dict[str, int] = {}
        for r in rows:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        print(f"{path.relative_to(ROOT)}: {len(rows)} queries {kinds}")
        if args.summary:
            for r in rows:
                if "regions" in r:
                    print(f"  {r['id']} {r['query']}: {r['regions'] or 'none'}  covers={r['covers']}")
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (rerun without --check): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
