"""Hostile inputs: decompression, element, nesting and work bombs through a real `kb ingest`.

Each bomb is generated here, streamed (the test never holds one inflated), and ingested beside a
good report by a real `kb ingest` process that runs under an address-space limit (RLIMIT_AS), so
a bomb that got through would fail this test instead of taking the machine. For each: exit code 1,
exactly one `failed:` line naming the file and the limit crossed, the good report searchable, and
the process's peak RSS (os.wait4) under PEAK_RSS_MB. The peaks go to artifacts/bomb-rss.json.

kb 0.2 on the same inputs: a 2.9 MB DOCX inflating to 1 GB took `kb ingest` past 8 GB; 50 MB of
empty paragraphs cost 2.8 GB; a PDF bomb was called "a scanned PDF?"; 100k-deep HTML "empty".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.ingest.chunk import chunk

pytestmark = pytest.mark.slow  # generated bombs through real `kb ingest` processes under RLIMIT_AS (tiers: docs/testing.md)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
ADDRESS_SPACE = 3 * 1024**3  # a kb ingest --no-dense peaks at ≈ 240 MB RSS; 3 GiB of address space is ample
PEAK_RSS_MB = 1024
GOOD_TERM = "凤仙花守法示范"
MB = 1024 * 1024


# ---- the run -------------------------------------------------------------------------------------
# A launcher between pytest and kb: a process forked from pytest starts its RSS high-water mark at
# pytest's own (≈ 650 MB late in a full run), so the peak is taken by a small process instead.
LAUNCHER = """
import os, resource, subprocess, sys
limit = int(sys.argv[1])
def limited():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
proc = subprocess.Popen(sys.argv[3:], preexec_fn=limited)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[2], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def ingest_limited(paths: list[Path], index: Path, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS in MB) of `kb ingest --no-dense` under RLIMIT_AS."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_MAX", "KB_FAILPOINT"))}
    full_env.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    result = index.with_name(index.name + ".rc")
    cmd = [sys.executable, "-m", "kb.cli", "ingest", *map(str, paths), "--index", str(index), "--quiet", "--no-dense"]
    done = subprocess.run([sys.executable, "-c", LAUNCHER, str(ADDRESS_SPACE), str(result), *cmd], cwd=ROOT,
                          env=full_env, capture_output=True, timeout=600, check=False)
    rc, peak_kb = map(int, result.read_text().split())
    return rc, done.stdout.decode(), done.stderr.decode(errors="replace"), peak_kb // 1024


def record_peak(name: str, peak_mb: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "bomb-rss.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = peak_mb
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    print(f"peak RSS of kb ingest on {name}: {peak_mb} MB")


def good_report(folder: Path) -> Path:
    path = folder / "good.txt"
    path.write_text(f"某县2024年法治政府建设年度报告\n一、创新举措\n全面推行{GOOD_TERM}工作，群众满意度持续提升。\n", encoding="utf-8")
    return path


def searchable(index: Path, term: str) -> bool:
    p = subprocess.run([sys.executable, "-m", "kb.cli", "search", term, "--mode", "bm25", "--json", "--index", str(index)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    return any(term in h["text"] for h in json.loads(p.stdout)["hits"])


# ---- bombs, generated as streams ------------------------------------------------------------------
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def repeated(unit: bytes, total: int) -> Iterator[bytes]:
    """`unit` repeated to `total` bytes, in pieces of about 1 MiB."""
    piece = unit * max(1, MB // len(unit))
    for _ in range(total // len(piece)):
        yield piece


def write_docx(path: Path, body: Iterator[bytes], level: int = 1) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'.encode())
            for piece in body:
                f.write(piece)
            f.write(b"</w:body></w:document>")
    return path


def docx_inflating(path: Path, inflated: int) -> Path:
    """The issue's bomb: one paragraph of `inflated` bytes of spaces (1 GB → 4.7 MB at level 1)."""
    return write_docx(path, iter([b"<w:p><w:r><w:t>", *repeated(b" ", inflated), b"</w:t></w:r></w:p>"]))


def docx_elements(path: Path, inflated: int) -> Path:
    """Empty paragraphs: 50 MB of them are 8.7M elements (python-docx needed 2.8 GB for them)."""
    return write_docx(path, repeated(b"<w:p/>", inflated), level=9)


def docx_deep(path: Path, depth: int) -> Path:
    return write_docx(path, iter([b"<w:p>" * depth, b"<w:r><w:t>x</w:t></w:r>", b"</w:p>" * depth]), level=9)


def pdf_inflating(path: Path, inflated: int) -> Path:
    """A one-page PDF whose content stream inflates to `inflated` bytes (then one line of text)."""
    deflate = zlib.compressobj(6)
    stream = b"".join(deflate.compress(p) for p in repeated(b" ", inflated))
    stream += deflate.compress(b"\nBT /F1 12 Tf 72 720 Td (Hello) Tj ET\n") + deflate.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def html_deep(path: Path, depth: int) -> Path:
    path.write_text("<html><body>" + "<div>" * depth + "某县依法行政" + "</div>" * depth + "</body></html>", encoding="utf-8")
    return path


def html_elements(path: Path, count: int) -> Path:
    path.write_text("<html><body><p>某县依法行政</p>" + "<b></b>" * count + "</body></html>", encoding="utf-8")
    return path


def jsonl_deep(path: Path, depth: int) -> Path:
    good = json.dumps({"title": "行", "content": "某县依法行政工作报告"}, ensure_ascii=False)
    path.write_text(good + "\n" + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return path


CN = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    return CN[n] if n < 10 else ("" if n // 10 == 1 else CN[n // 10]) + "十" + (CN[n % 10] if n % 10 else "")


def numbered_headings(path: Path) -> Path:
    """A work bomb: 141 KB of valid headings, three levels deep, each its own section and passage."""
    lines = []
    for a in range(1, 10):
        lines.append(f"{cn_number(a)}、标题{a}")
        for b in range(1, 21):
            lines.append(f"（{cn_number(b)}）小节{b}")
            lines.extend(f"{c}.条目{c}" for c in range(1, 80))
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def long_text(path: Path, chars: int) -> Path:
    sentence = "某县全面推进依法行政，深化行政执法体制改革，优化法治化营商环境。"
    path.write_text(sentence * (chars // len(sentence) + 1), encoding="utf-8")
    return path


# ---- one bomb per run, beside a good report ---------------------------------------------------------
BOMBS = {  # name -> (file name, generator, what the one line must say, the limit it must name)
    "docx-1GB": ("bomb.docx", lambda p: docx_inflating(p, 1024 * MB), "expands to more than 200 MB", "KB_MAX_EXPANDED_MB"),
    "docx-8.7M-elements": ("elements.docx", lambda p: docx_elements(p, 50 * MB), "more than 2,000,000 elements",
                           "KB_MAX_ELEMENTS"),
    "docx-100k-deep": ("deep.docx", lambda p: docx_deep(p, 100_000), "nested more than 256 levels", "KB_MAX_NESTING"),
    "pdf-300MB-stream": ("bomb.pdf", lambda p: pdf_inflating(p, 300 * MB), "expands to more than 200 MB",
                         "KB_MAX_EXPANDED_MB"),
    "html-100k-deep": ("deep.html", lambda p: html_deep(p, 100_000), "HTML nested more than 256 levels", "KB_MAX_NESTING"),
    "html-2.1M-elements": ("elements.html", lambda p: html_elements(p, 2_100_000), "more than 2,000,000 elements in HTML",
                           "KB_MAX_ELEMENTS"),
    "text-3.1M-chars": ("long.txt", lambda p: long_text(p, 3_100_000), "characters", "KB_MAX_CHARS"),
    "headings-14k-passages": ("headings.txt", numbered_headings, "passages", "KB_MAX_PASSAGES"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_refused_in_bounded_memory_and_the_good_file_goes_in(tmp_path, name):
    file_name, make, says, limit = BOMBS[name]
    bomb = make(tmp_path / file_name)
    good = good_report(tmp_path)
    rc, out, err, peak = ingest_limited([bomb, good], tmp_path / "index")
    record_peak(name, peak)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [line for line in lines if line.startswith(f"failed: {bomb}: ")] and len(lines) == 1, err
    assert says in lines[0] and limit in lines[0], lines[0]
    assert "scanned PDF" not in lines[0] and "empty document" not in lines[0]
    assert rc == 1, (rc, out, err)
    assert out.startswith("added 1, updated 0, unchanged 0, failed 1"), out
    assert searchable(tmp_path / "index", GOOD_TERM)
    assert 0 < peak < PEAK_RSS_MB, f"peak RSS {peak} MB"


def test_the_work_bomb_really_is_one(tmp_path):
    """The headings file is valid input, not junk: under the limit it would be ≈ 14k passages."""
    text = numbered_headings(tmp_path / "h.txt").read_text(encoding="utf-8")
    assert len(chunk(text)) > 14_000  # over the 10,000 limit


def test_jsonl_row_nested_too_deep_fails_by_line_and_the_other_row_goes_in(tmp_path):
    rows = jsonl_deep(tmp_path / "rows.jsonl", 100_000)
    rc, out, err, peak = ingest_limited([rows], tmp_path / "index")
    record_peak("jsonl-100k-deep", peak)
    assert err.strip().splitlines() == [err.strip()], err
    assert err.startswith(f"failed: {rows}:2: JSON nested more than 256 levels deep") and "KB_MAX_NESTING" in err, err
    assert rc == 1 and out.startswith("added 1,"), (rc, out)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_is_refused_before_reading(tmp_path, special):
    """`kb ingest /dev/zero` used to read forever: stat says 0 bytes, the read never ends."""
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "pipe.txt"
        os.mkfifo(path)
    good = good_report(tmp_path)
    rc, out, err, _ = ingest_limited([path, good], tmp_path / "index")
    assert err.strip() == f"failed: {path}: not a regular file (a device, FIFO or socket)", err
    assert rc == 1 and out.startswith("added 1,"), (rc, out)


def test_limits_are_configurable_and_each_refusal_names_its_setting(tmp_path):
    """Lower limits through the environment (KB_<FIELD> of LimitSettings): the same small files
    that go in by default are refused, each with one line naming its limit."""
    docx = write_docx(tmp_path / "small.docx", iter([b"<w:p><w:r><w:t>" + "某县依法行政。".encode() * 20000 + b"</w:t></w:r></w:p>"]))
    text = long_text(tmp_path / "text.txt", 5000)
    default = ingest_limited([docx, text], tmp_path / "default")
    assert default[0] == 0, default
    env = {"KB_MAX_EXPANDED_MB": "0.2", "KB_MAX_CHARS": "2000"}
    rc, out, err, _ = ingest_limited([docx, text], tmp_path / "strict", env)
    assert rc == 2, (rc, out, err)
    lines = sorted(err.strip().splitlines())
    assert len(lines) == 2, err
    assert re.match(rf"failed: {re.escape(str(docx))}: expands to more than 0.2 MB .*KB_MAX_EXPANDED_MB", lines[0]), lines
    assert re.match(rf"failed: {re.escape(str(text))}: text of 5,\d{{3}} characters \(limit 2,000; raise it with KB_MAX_CHARS\)",
                    lines[1]), lines
