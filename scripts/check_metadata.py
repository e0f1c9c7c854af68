"""How well does kb read a folder of real reports? Ingest it (BM25 only, into a temporary index),
take every document's metadata as `kb docs --json` prints it, and compare it with a truth file
written by reading the files.

    .venv/bin/python scripts/check_metadata.py                      # dev split: ../shared/corpus/realworld
    .venv/bin/python scripts/check_metadata.py --split test         # test split: eval/heldout (never tune on it)
    .venv/bin/python scripts/check_metadata.py FOLDER TRUTH.jsonl   # any folder and its truth
    .venv/bin/python scripts/check_metadata.py --index DIR ...      # an index already built from the folder
    .venv/bin/python scripts/check_metadata.py --docs-json F ...    # saved `kb docs --json` output (any kb version)
    .venv/bin/python scripts/check_metadata.py --anonymous ...      # files copied as doc01.txt …: no file-name
                                                                    # evidence (titles are not scored then)

The truth file is JSONL, one row a file: `file` (its name, or `raw/NAME`), `title` (and optionally
`titles`, every accepted form), `region`, `province`, `year` (the year covered), `doc_type`, `level`,
and optionally `city` (scored when the row has the key) and `issued_year` (when not null). Titles are compared
without whitespace, with full- and half-width brackets as one. Prints the accuracy of each field,
how many documents have title, region, year and type all right, and every miss; exits 1 when one
of title, region, year or type is under `--target` (default 0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (a worktree may sit deeper: the nearest ancestor that has one), or $KB_SHARED.
SHARED = Path(os.environ["KB_SHARED"]) if os.environ.get("KB_SHARED") else next(
    (p / "shared" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()), ROOT.parent / "shared")
SPLITS = {
    "dev": (SHARED / "corpus" / "realworld" / "raw", ROOT / "eval" / "realworld_metadata.jsonl"),
    "test": (SHARED / "heldout" / "raw", ROOT / "eval" / "heldout" / "metadata.jsonl"),
}
HEADLINE = ("title", "region", "year", "doc_type")
FIELDS = ("title", "region", "city", "province", "level", "year", "issued_year", "doc_type")


def _norm_title(title: str) -> str:
    table = str.maketrans({"(": "（", ")": "）", "“": '"', "”": '"', ":": "：", ",": "，"})
    return re.sub(r"\s+", "", title or "").translate(table)


def _file_of(source: str) -> str:
    return Path(re.sub(r"#row\d+$", "", source)).name


def read_truth(path: Path) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [k for k in ("file", "title", "region", "province", "year", "doc_type", "level") if k not in row]
        if missing:
            raise SystemExit(f"{path}:{n}: truth row lacks {', '.join(missing)}")
        rows[Path(row["file"]).name] = row
    return rows


def _right(field: str, got: dict, want: dict) -> bool:
    if field == "title":
        return _norm_title(got.get("title") or "") in {_norm_title(t) for t in want.get("titles") or [want["title"]]}
    return got.get(field) == want.get(field)


def _scored(field: str, want: dict) -> bool:
    """Rows say which optional fields they vouch for: `city` when present (null: none, as for a
    province), `issued_year` when not null (null: the document does not say)."""
    return field in want and (field != "issued_year" or want[field] is not None)


def score(docs: list[dict], truth: dict[str, dict], renamed: dict[str, str] | None = None,
          target: float = 0.95, quiet: bool = False) -> dict[str, float]:
    """Per-field accuracy over the truth rows (a file that gave no document, or several, is wrong in
    every field); prints every miss unless `quiet`."""
    by_file: dict[str, list[dict]] = {}
    for d in docs:
        name = _file_of(d["source"])
        by_file.setdefault((renamed or {}).get(name, name), []).append(d)
    fields = [f for f in FIELDS if f != "title" or renamed is None]
    right = {f: 0 for f in fields}
    counted = {f: 0 for f in fields}
    all_four = 0
    misses: list[str] = []
    for name, want in sorted(truth.items()):
        found = by_file.get(name, [])
        scored = [f for f in fields if _scored(f, want)]
        for f in scored:
            counted[f] += 1
        if len(found) != 1:
            misses.append(f"✗ {name}: {len(found)} documents (expected one)")
            continue
        got = found[0]
        wrong = []
        for f in scored:
            if _right(f, got, want):
                right[f] += 1
            else:
                wrong.append(f)
        if not any(f in wrong for f in HEADLINE):
            all_four += 1
        if wrong:
            misses.append(f"✗ {name}\n" + "\n".join(
                f"    {f:<11} got {got.get(f)!r:<40} want {want.get(f)!r}" for f in wrong)
                + f"\n    evidence    {got.get('region_evidence')}")
    acc = {f: right[f] / counted[f] for f in fields if counted[f]}
    if not quiet:
        print("\n".join(misses) or "no misses")
        extra = sorted(set(by_file) - set(truth))
        if extra:
            print(f"documents from files not in the truth: {', '.join(extra)}")
        print()
        for f in fields:
            if counted[f]:
                flag = "" if f not in HEADLINE else ("  ok" if acc[f] >= target else f"  < {target}")
                print(f"{f:<11} {right[f]:>3}/{counted[f]:<3} {acc[f]:.3f}{flag}")
        print(f"title, region, year and type all right: {all_four}/{len(truth)}")
    acc["all"] = all_four / len(truth) if truth else 0.0
    return acc


def docs_from_folder(folder: Path, index: Path | None = None) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from kb import KnowledgeBase

    if index is None:
        index = Path(tempfile.mkdtemp(prefix="kb-check-metadata-")) / "index"
        kb = KnowledgeBase.open(index, create=True)
        report = kb.ingest([folder], dense=False)
        print(f"kb ingest {folder} --no-dense: {report.summary()}")
        for line in report.failed + report.skipped + report.warnings:
            print(f"  {line}")
    else:
        kb = KnowledgeBase.open(index)
    return [d.to_dict() for d in kb.documents()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, help="the folder of files (default: the split's)")
    ap.add_argument("truth", nargs="?", type=Path, help="the truth file, JSONL (default: the split's)")
    ap.add_argument("--split", choices=sorted(SPLITS), default="dev")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--index", type=Path, help="an index already built from the folder")
    src.add_argument("--docs-json", type=Path, help="the output of `kb docs --json` (one object a line)")
    src.add_argument("--anonymous", action="store_true", help="ingest copies named doc01.txt, doc02.csv …")
    ap.add_argument("--target", type=float, default=0.95)
    args = ap.parse_args()
    folder = args.folder or SPLITS[args.split][0]
    truth = read_truth(args.truth or SPLITS[args.split][1])
    renamed = None
    if args.anonymous:
        anon = Path(tempfile.mkdtemp(prefix="kb-check-metadata-anon-"))
        renamed = {}
        for i, path in enumerate(sorted(p for p in folder.iterdir() if p.is_file()), 1):
            name = f"doc{i:02d}{path.suffix}"
            shutil.copy(path, anon / name)
            renamed[name] = path.name
        docs = docs_from_folder(anon)
    elif args.docs_json:
        docs = [json.loads(line) for line in args.docs_json.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        docs = docs_from_folder(folder, args.index)
    acc = score(docs, truth, renamed, args.target)
    return 0 if all(acc.get(f, 1.0) >= args.target for f in HEADLINE) else 1


if __name__ == "__main__":
    sys.exit(main())
