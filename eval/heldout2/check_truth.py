"""Check the held-out ground truth against the raw files it was written from.

Usage:  .venv/bin/python eval/heldout2/check_truth.py [RAW_DIR]

RAW_DIR defaults to $HELDOUT2_RAW, then eval/heldout2/raw/ if it exists, then ../shared/heldout2/raw
(the raw files are public third-party data and live under shared/, not in this repository).

Checks, for metadata.jsonl, queries.jsonl, figures.jsonl, paraphrase.jsonl and similar.jsonl:
  * every metadata row names an existing raw file, every raw file has exactly one metadata row,
    and the fields have the agreed types and vocabularies;
  * every `doc` is a substring of exactly one raw file name;
  * every `contains` (and every figure `value`, every `forms` entry) occurs in that file's text after
    Traditional->Simplified folding (OpenCC if installed), with whitespace and quote marks ignored;
  * region rows: `regions` is a list, empty only for rows marked "none", every relevant doc is listed.
Prints counts per JSONL, per kind/cover and per raw file, and exits 1 on any failure.

Only the standard library plus python-docx and pypdf (both in the project .venv) are used.
kb is never imported or run here: the truth is checked against the files, not against the program.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
JSONLS = ["metadata.jsonl", "queries.jsonl", "figures.jsonl", "paraphrase.jsonl", "similar.jsonl"]
LEVELS = {"province", "city", "county", "town"}
DOC_TYPES = {"法治政府建设年度报告", "政府工作报告", "政府信息公开工作年度报告", "提案/建议答复", "统计公报",
             "通知/意见/办法", "部门预算/决算", "工作总结/计划", "其他"}
QUOTES = "\"'“”‘’「」『』〝〞＂＇"


def raw_dir(argv: list[str]) -> Path:
    if len(argv) > 1:
        return Path(argv[1])
    if os.environ.get("HELDOUT2_RAW"):
        return Path(os.environ["HELDOUT2_RAW"])
    if (HERE / "raw").is_dir():
        return HERE / "raw"
    return HERE.parents[1].parent / "shared" / "heldout2" / "raw"


def _t2s():
    try:
        import opencc  # optional; all texts here are Simplified already
        return opencc.OpenCC("t2s").convert
    except Exception:
        return lambda s: s


T2S = _t2s()


def fold(s: str) -> str:
    s = T2S(s)
    s = re.sub(r"\s+", "", s)
    return "".join(ch for ch in s if ch not in QUOTES)


def decode(b: bytes) -> str:
    if b.startswith(b"\xef\xbb\xbf"):
        b = b[3:]
    for enc in ("utf-8", "gb18030"):
        try:
            return b.decode(enc)
        except UnicodeDecodeError:
            pass
    return b.decode("utf-8", "replace")


def html_text(s: str) -> str:
    s = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", s)
    s = re.sub(r"(?is)<!--.*?-->", " ", s)
    s = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</td>|</th>|</li>|</h\d>", "\n", s)
    s = re.sub(r"<[^>]+>", " ", s)
    return html.unescape(s)


def file_text(path: Path) -> str:
    b = path.read_bytes()
    ext = path.suffix.lower()
    if ext == ".pdf":
        import pypdf
        reader = pypdf.PdfReader(io.BytesIO(b))
        return "\n".join((page.extract_text() or "") for page in reader.pages)
    if ext == ".docx":
        import docx
        d = docx.Document(io.BytesIO(b))
        parts = [p.text for p in d.paragraphs]
        for table in d.tables:
            for row in table.rows:
                for cell in row.cells:
                    parts.append(cell.text)
        return "\n".join(parts)
    text = decode(b)
    if ext in (".html", ".htm"):
        return html_text(text)
    return text


def load(name: str) -> list[dict]:
    rows = []
    with open(HERE / name, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                row["_line"] = n
                rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    rdir = raw_dir(argv)
    if not rdir.is_dir():
        print(f"raw directory not found: {rdir}")
        return 2
    names = sorted(p.name for p in rdir.iterdir() if p.is_file())
    texts: dict[str, str] = {}
    errors: list[str] = []

    def text(name: str) -> str:
        if name not in texts:
            texts[name] = fold(file_text(rdir / name))
        return texts[name]

    def pick(doc: str, where: str) -> str | None:
        hits = [n for n in names if doc in n]
        if len(hits) != 1:
            errors.append(f"{where}: doc {doc!r} matches {len(hits)} files {hits[:3]}")
            return None
        return hits[0]

    def has(name: str | None, s: str, where: str) -> None:
        if name is None:
            return
        if not s or fold(s) not in text(name):
            errors.append(f"{where}: {s!r} not found in {name}")

    uses: dict[str, Counter] = defaultdict(Counter)

    # the frozen file list: every raw file must still be byte-for-byte what the truth was written from
    import hashlib
    manifest = HERE / "raw_manifest.tsv"
    if manifest.exists():
        listed = {}
        for line in manifest.read_text(encoding="utf-8").splitlines()[1:]:
            digest, size, fname = line.split("\t")
            listed[fname] = digest
        for fname, digest in listed.items():
            if fname not in names:
                errors.append(f"raw_manifest.tsv: {fname} missing from {rdir}")
            elif hashlib.sha256((rdir / fname).read_bytes()).hexdigest() != digest:
                errors.append(f"raw_manifest.tsv: {fname} changed since the split was frozen")
        for fname in names:
            if fname not in listed:
                errors.append(f"raw_manifest.tsv: {fname} is not part of the frozen split")

    # metadata
    meta = load("metadata.jsonl")
    seen = Counter(m["file"] for m in meta)
    for m in meta:
        where = f"metadata.jsonl:{m['_line']}"
        f = m["file"]
        if not f.startswith("raw/") or f[4:] not in names:
            errors.append(f"{where}: file {f!r} not in {rdir}")
        if seen[f] > 1:
            errors.append(f"{where}: file {f!r} listed {seen[f]} times")
        for key in ("title", "region", "province"):
            if not isinstance(m.get(key), str) or not m[key]:
                errors.append(f"{where}: {key} missing")
        if m.get("city") is not None and not isinstance(m["city"], str):
            errors.append(f"{where}: city must be a string or null")
        if m.get("level") not in LEVELS:
            errors.append(f"{where}: level {m.get('level')!r}")
        if not isinstance(m.get("year"), int) or not 1949 < m["year"] < 2100:
            errors.append(f"{where}: year {m.get('year')!r}")
        if m.get("doc_type") not in DOC_TYPES:
            errors.append(f"{where}: doc_type {m.get('doc_type')!r}")
        if f[4:] in names:
            uses[f[4:]]["metadata"] += 1
    for n in names:
        if f"raw/{n}" not in seen:
            errors.append(f"metadata.jsonl: no row for raw/{n}")

    counts: dict[str, Counter] = {}
    for jname in JSONLS[1:]:
        rows = load(jname)
        c = counts[jname] = Counter()
        ids = Counter(r.get("id") for r in rows)
        for r in rows:
            where = f"{jname}:{r['_line']} ({r.get('id')})"
            if ids[r.get("id")] > 1:
                errors.append(f"{where}: duplicate id")
            c["rows"] += 1
            if jname == "similar.jsonl":
                seed = r.get("seed") or {}
                name = pick(seed.get("doc", ""), where)
                has(name, seed.get("contains", ""), where)
                if name:
                    uses[name][jname] += 1
                if not isinstance(r.get("expected_regions"), list):
                    errors.append(f"{where}: expected_regions must be a list")
                continue
            c[f"kind={r.get('kind')}"] += 1
            for cover in r.get("covers", []):
                c[f"covers={cover}"] += 1
            if not r.get("query"):
                errors.append(f"{where}: empty query")
            picked = {}
            for item in r.get("relevant", []):
                name = pick(item.get("doc", ""), where)
                has(name, item.get("contains", ""), where)
                if name:
                    picked[item["doc"]] = name
                    uses[name][jname] += 1
            for doc, forms in (r.get("forms") or {}).items():
                name = picked.get(doc) or pick(doc, where)
                for form in forms:
                    has(name, form, where + " forms")
            for fig in r.get("figures", []):
                name = picked.get(fig.get("doc")) or pick(fig.get("doc", ""), where)
                has(name, fig.get("value", ""), where + " figure")
            if jname == "queries.jsonl":
                regs = r.get("regions")
                if not isinstance(regs, list):
                    errors.append(f"{where}: regions must be a list")
                elif not regs and "none" not in r.get("covers", []):
                    errors.append(f"{where}: empty regions but not marked none")
                elif regs and "none" in r.get("covers", []):
                    errors.append(f"{where}: marked none but lists regions")
                if regs is not None and not regs and r.get("relevant"):
                    errors.append(f"{where}: empty-answer row has relevant items")
                if regs:
                    region_of = {m["file"][4:]: m["region"] for m in meta}
                    for doc, name in picked.items():
                        reg = region_of.get(name, "")
                        if not any(x in reg or reg in x for x in regs):
                            errors.append(f"{where}: relevant file {name} (region {reg}) not in regions {regs}")
                    for x in regs:
                        if not any(x in region_of.get(name, "") for name in picked.values()):
                            errors.append(f"{where}: region {x!r} has no relevant file")

    print(f"raw files: {len(names)} in {rdir}")
    print(f"metadata.jsonl: {len(meta)} rows; doc_type {dict(Counter(m['doc_type'] for m in meta))}")
    print(f"  level {dict(Counter(m['level'] for m in meta))}")
    for jname, c in counts.items():
        print(f"{jname}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print("per raw file (rows that cite it):")
    for n in names:
        u = uses.get(n, Counter())
        cited = ", ".join(f"{k.split('.')[0]} {v}" for k, v in sorted(u.items()) if k != "metadata")
        print(f"  {n}: {cited or '-'}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: every doc picks one file and every contains/value/form occurs in it.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
