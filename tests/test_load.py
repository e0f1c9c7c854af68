"""Loaders on real files: fixtures made by tests/fixtures/formats/make_fixtures.py, samples, tmp files."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest

from kb.ingest.load import (
    SUPPORTED,
    LoadError,
    LoadWarning,
    Skipped,
    decode,
    iso_date,
    iter_files,
    load_file,
)
from kb.ingest.normalise import clean
from kb.models import RawDocument

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "tests" / "fixtures" / "formats"
SAMPLES = ROOT / "data" / "samples"
TITLE = "某市2021年法治政府建设年度报告"


def one_doc(path: Path) -> RawDocument:
    (doc,) = load_file(path)
    assert isinstance(doc, RawDocument), doc
    return doc


def one_error(path: Path) -> LoadError:
    (err,) = load_file(path)
    assert isinstance(err, LoadError), err
    return err


# ---------------------------------------------------------------------------------------------
# LoadError


def test_load_error_is_one_line_naming_source_and_reason() -> None:
    e = LoadError("a/b.pdf", "no text layer\n(scanned PDF?)")
    assert (e.source, e.reason) == ("a/b.pdf", "no text layer (scanned PDF?)")
    assert str(e) == "a/b.pdf: no text layer (scanned PDF?)"
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.source, copy.reason, str(copy)) == (e.source, e.reason, str(e))


# ---------------------------------------------------------------------------------------------
# iter_files


def test_iter_files_walks_sorted_skipping_hidden_and_unsupported(tmp_path: Path) -> None:
    for rel in ["b.txt", "a.md", "sub/c.PDF", "sub/d.docx", "x.xyz", "README", ".hidden.txt", ".git/e.txt",
                "sub/.cache/f.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    items = list(iter_files([tmp_path]))
    found = [p.relative_to(tmp_path).as_posix() for p in items if isinstance(p, Path)]
    assert found == ["a.md", "b.txt", "sub/c.PDF", "sub/d.docx"]
    # a file kb does not read is named with its type, never dropped silently (hidden files are)
    skipped = sorted((Path(e.source).name, e.reason) for e in items if isinstance(e, Skipped))
    assert skipped == [("README", "unsupported type (no extension)"), ("x.xyz", "unsupported type .xyz")]


def test_iter_files_named_file_yielded_whatever_suffix(tmp_path: Path) -> None:
    odd = tmp_path / "report.xyz"
    odd.write_bytes(b"x")
    assert list(iter_files([str(odd)])) == [odd]
    err = one_error(odd)
    assert "unsupported file type '.xyz'" in err.reason and err.source == str(odd)


def test_iter_files_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("法治", encoding="utf-8")
    assert list(iter_files([tmp_path, tmp_path / "a.txt"])) == [tmp_path / "a.txt"]


def test_iter_files_missing_path_is_an_error_value_and_the_rest_still_come(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    (tmp_path / "a.txt").write_text("法治", encoding="utf-8")
    found = list(iter_files([missing, tmp_path / "a.txt"]))
    assert isinstance(found[0], LoadError) and found[0].source == str(missing)
    assert "no such file" in str(found[0])
    assert found[1:] == [tmp_path / "a.txt"]


def test_iter_files_symlink_loop_warns_once_and_terminates(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("法治", encoding="utf-8")
    (tmp_path / "sub" / "back").symlink_to("..")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    found = list(iter_files([tmp_path]))
    warnings = [x for x in found if isinstance(x, LoadWarning)]
    errors = [x for x in found if isinstance(x, LoadError) and not isinstance(x, LoadWarning)]
    assert [w.source for w in warnings] == [str(tmp_path / "sub" / "back")] and "symlink loop" in warnings[0].reason
    assert [e.source for e in errors] == [str(tmp_path / "dangling.txt")] and "broken symlink" in errors[0].reason
    assert [p for p in found if isinstance(p, Path)] == [tmp_path / "sub" / "a.txt"]


def test_supported_suffixes() -> None:
    assert SUPPORTED == {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".doc", ".wps", ".ofd", ".jsonl",
                         ".csv", ".tsv", ".xlsx", ".xls", ".ods"}


# ---------------------------------------------------------------------------------------------
# decode

TEXT = "关于2024年法治政府建设工作情况的报告\n积极推进行政执法“综合查一次”工作。"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("gbk"),
        TEXT.encode("gb18030"),
        TEXT.encode("utf-16"),  # BOM + native order
        b"\xff\xfe" + TEXT.encode("utf-16-le"),
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030", "utf16", "utf16le-bom", "utf16be-bom"],
)
def test_decode_encodings(data: bytes) -> None:
    assert decode(data, "x.txt") == TEXT


@pytest.mark.parametrize("text", ["法治", "营商环境", "綜合查一次", "北京市密云区人民政府", "张美群委员:"])
def test_decode_short_gbk_is_not_misread(text: str) -> None:
    """charset-normalizer alone reads these as Big5/cp949/UTF-16; GB18030 must win."""
    assert decode(text.encode("gbk"), "x.txt") == text


def test_decode_gb18030_four_byte_chars() -> None:
    text = "法治政府建设𠀀𡃁报告"
    assert decode(text.encode("gb18030"), "x.txt") == text


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj"],
    ids=["random", "png", "pdf"],
)
def test_decode_binary_raises(data: bytes) -> None:
    with pytest.raises(LoadError) as info:
        decode(data, "blob.txt")
    assert info.value.source == "blob.txt" and "binary" in info.value.reason


def test_decode_bad_bytes_after_bom_raises() -> None:
    with pytest.raises(LoadError, match="UTF-8"):
        decode(b"\xef\xbb\xbf\xff\xfe\xfd", "bad.txt")


# ---------------------------------------------------------------------------------------------
# text files


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_load_txt_any_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"r-{encoding}.txt"
    path.write_bytes(TEXT.replace("\n", "\r\n").encode(encoding))
    doc = one_doc(path)
    assert doc.text == TEXT and doc.source == str(path) and doc.title is None


def test_load_md(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("# 标题\n\n正文。\n", encoding="utf-8")
    assert one_doc(path).text == "# 标题\n\n正文。"


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t", "\ufeff".encode("utf-8")])
def test_load_empty_document(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    err = one_error(path)
    assert str(err) == f"{path}: empty document"


def test_load_samples_then_clean() -> None:
    for path in iter_files([SAMPLES]):
        doc = one_doc(path)
        assert doc.source == str(path) and clean(doc.text).text
    doc = one_doc(next(SAMPLES.glob("002_*.txt")))
    c = clean(doc.text)
    assert "“综合查一次”616次" in c.text and c.fields["发布机构"] == "县司法局"


# ---------------------------------------------------------------------------------------------
# PDF


def test_load_pdf_text_layer() -> None:
    doc = one_doc(FORMATS / "report.pdf")
    assert doc.text.split("\n")[0] == TITLE
    assert "全年开展联合检查616次" in doc.text and "“综合查一次”" in doc.text
    assert doc.source == str(FORMATS / "report.pdf")


def test_load_pdf_without_text_layer() -> None:
    err = one_error(FORMATS / "scanned.pdf")
    assert err.reason.startswith("no text layer") and "OCR" in err.reason


@pytest.mark.parametrize("data", [b"%PDF-1.4\nthis is not really a pdf", b"not a pdf at all"])
def test_load_corrupt_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    err = one_error(path)
    assert err.reason.startswith("unreadable PDF") and "\n" not in str(err) and len(err.reason) < 200


def test_load_truncated_pdf(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes((FORMATS / "report.pdf").read_bytes()[:700])
    err = one_error(path)
    assert err.source == str(path) and "\n" not in str(err)


# ---------------------------------------------------------------------------------------------
# DOCX


def test_load_docx_paragraphs_and_tables() -> None:
    doc = one_doc(FORMATS / "report.docx")
    lines = doc.text.split("\n")
    assert lines[0] == TITLE
    assert "一、推进行政执法“综合查一次”改革,全年开展联合检查616次。" in lines
    assert lines[-2:] == ["指标\t2020\t2021", "行政复议案件\t153\t160"]


@pytest.mark.parametrize("kind", ["not-zip", "zip-without-document"])
def test_load_corrupt_docx(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "broken.docx"
    if kind == "not-zip":
        path.write_bytes(b"PK\x03\x04 truncated")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "法治")
    err = one_error(path)
    assert err.reason.startswith("unreadable DOCX") and "\n" not in str(err) and len(err.reason) < 200


# ---------------------------------------------------------------------------------------------
# HTML


def test_load_html_main_text_title_and_date() -> None:
    doc = one_doc(FORMATS / "page.html")
    assert doc.title == TITLE
    assert doc.hints == {"published": "2022-03-15", "file_title": "page"}  # one document: its file name is evidence
    assert "2021年,我市坚持以习近平法治思想为指导,全面推进依法行政。" in doc.text.split("\n")
    assert "一、推进行政执法“综合查一次”改革,全年开展联合检查616次。" in doc.text.split("\n")
    for chrome in ("互动交流", "办事服务", "版权所有", "ICP备", "网站标识码"):
        assert chrome not in doc.text, chrome
    # tables come through as text, and clean() turns their pipes into cells
    assert "行政复议案件" in doc.text and "160" in doc.text
    assert "行政复议案件\t153\t160" in clean(doc.text).text


def test_load_html_gbk_declared_charset_and_title_tag(tmp_path: Path) -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>某县2020年法治政府建设工作报告_某县人民政府</title>"
        '<meta name="publishdate" content="2021年2月3日"></head>'
        "<body><div><p>2020年,我县持续深化“放管服”改革,优化法治化营商环境,全年办理行政复议案件二十件。</p>"
        "<p>二、存在的问题:执法队伍专业化水平有待提高,基层法治力量仍然薄弱,需要进一步加强。</p></div></body></html>"
    )
    path = tmp_path / "gbk.htm"
    path.write_bytes(html.encode("gbk"))
    doc = one_doc(path)
    assert doc.title == "某县2020年法治政府建设工作报告"
    assert doc.hints["published"] == "2021-02-03"
    assert "优化法治化营商环境" in doc.text and "基层法治力量仍然薄弱" in doc.text


def test_load_html_without_metadata(tmp_path: Path) -> None:
    path = tmp_path / "bare.html"
    path.write_text("<html><body><p>法治政府建设。</p></body></html>", encoding="utf-8")
    doc = one_doc(path)
    assert "法治政府建设。" in doc.text and "published" not in doc.hints


def test_load_html_with_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><head><title></title></head><body><script>var a=1;</script></body></html>", encoding="utf-8")
    assert one_error(path).reason == "empty document"


# ---------------------------------------------------------------------------------------------
# JSONL


def test_load_jsonl_good_bad_and_missing_lines() -> None:
    path = FORMATS / "docs.jsonl"
    out = load_file(path)
    assert [type(x).__name__ for x in out] == ["RawDocument", "LoadError", "LoadError", "RawDocument"]
    good, bad, missing, text_only = out
    assert isinstance(good, RawDocument) and isinstance(text_only, RawDocument)
    assert good.source == "https://www.example.gov.cn/art/2022/3/15/art_1.html"
    assert good.title == TITLE
    assert good.hints == {
        "url": "https://www.example.gov.cn/art/2022/3/15/art_1.html",
        "year": 2021,
        "region": "某市",
        "published": "2022-03-15",
    }
    assert "“综合查一次”" in good.text
    assert isinstance(bad, LoadError) and bad.source == f"{path}:2" and "malformed JSON" in bad.reason
    assert isinstance(missing, LoadError) and missing.source == f"{path}:3" and "content" in missing.reason
    assert text_only.source == f"{path}#L5"
    assert text_only.text == "本报告没有网址,来源应为文件名加行号。"
    assert text_only.hints == {"year": 2020}


def test_load_jsonl_odd_rows(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    rows = [
        '["not", "an", "object"]',
        '{"content": "   "}',
        '{"text": "正文", "year": "2021年", "published": "2022年3月5日"}',
    ]
    path.write_bytes(("\ufeff" + "\n".join(rows)).encode("utf-8"))
    not_object, empty, ok = load_file(path)
    assert isinstance(not_object, LoadError) and not_object.reason == "not a JSON object"
    assert isinstance(empty, LoadError) and empty.reason == "empty document"
    assert isinstance(ok, RawDocument) and ok.hints == {"year": 2021, "published": "2022-03-05"}


@pytest.mark.parametrize(
    ("value", "iso"),
    [("2022-03-15 09:30", "2022-03-15"), ("2022年3月5日", "2022-03-05"), ("2022/3/5", "2022-03-05"),
     ("20220305", "2022-03-05"), ("2022-02-30", None), ("上周", None), (None, None)],
)  # fmt: skip
def test_iso_date(value: object, iso: str | None) -> None:
    assert iso_date(value) == iso
