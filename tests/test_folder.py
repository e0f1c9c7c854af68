"""A folder of real files in (tests/fixtures/folder, one of each format kb reads), through real `kb`
processes: every report goes in with the right title, region (city, province), type and years;
the file kb does not read is named and counted; corrections last through --reparse; bad files of
the new formats are one line each and take nothing already indexed with them.

The same check as scripts/check_realworld_metadata.py runs on ../shared/corpus/realworld, on
fixtures written for these tests (tests/fixtures/make_folder.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a folder of every format through real `kb` processes (tiers: docs/testing.md)

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "fixtures" / "folder"
BAD = ROOT / "tests" / "fixtures" / "bad"

# file → (title, region, city, province, level, type, year covered, year issued)
EXPECTED = {
    "2026_浙江省_政府工作报告.csv#row2": ("2026年浙江省政府工作报告", "浙江省", None, "浙江省", "province", "政府工作报告", 2025, 2026),
    "gov_open_2023.pdf": ("苏州市吴江区人民政府2023年政府信息公开工作年度报告", "吴江区", "苏州市", "江苏省", "county",
                          "政府信息公开工作年度报告", 2023, 2024),
    "jiaxing_decision.ofd": ("嘉兴市人民代表大会常务委员会关于加强法治政府建设的决定", "嘉兴市", "嘉兴市", "浙江省", "city",
                             "决议/决定", 2024, 2024),
    "reports.xlsx#row2": ("2024年安徽省政府工作报告", "安徽省", None, "安徽省", "province", "政府工作报告", 2023, 2024),
    "reports.xlsx#row3": ("合肥市2023年法治政府建设年度报告", "合肥市", "合肥市", "安徽省", "city", "法治政府建设年度报告", 2023, 2024),
    "reports.xlsx#row4": ("关于市政协十三届二次会议第45号提案的答复", "芜湖市", "芜湖市", "安徽省", "city", "提案/建议答复", 2024, 2024),
    "rows.ods#row2": ("2023年度法治政府建设情况报告", "鄞州区", "宁波市", "浙江省", "county", "法治政府建设年度报告", 2023, None),
    "rows.ods#row3": ("关于对市人大十六届二次会议第102号建议的答复", "温州市", "温州市", "浙江省", "city", "提案/建议答复", 2024, 2024),
    "rows.xls#row2": ("2024年政府工作报告", "德清县", "湖州市", "浙江省", "county", "政府工作报告", 2023, 2024),
    "rows.xls#row3": ("政府信息公开工作年度报告（2023年）", "桐乡市", "嘉兴市", "浙江省", "county", "政府信息公开工作年度报告", 2023, 2024),
    "平湖市信息公开年报.doc": ("平湖市人民政府2023年政府信息公开工作年度报告", "平湖市", "嘉兴市", "浙江省", "county",
                            "政府信息公开工作年度报告", 2023, 2024),
    "武侯区法治政府建设报告.doc": ("成都市武侯区人民政府关于2022年度法治政府建设情况的报告", "武侯区", "成都市", "四川省", "county",
                             "法治政府建设年度报告", 2022, 2023),
    "法治报告.tsv#row2": ("2023年法治政府建设工作报告", "龙泉市", "丽水市", "浙江省", "county", "法治政府建设年度报告", 2023, 2024),
    # names 杭州市 seven times, 上城区/滨江区 twice, itself only in its file name
    "西湖区2024年政府工作报告_2024.txt": ("西湖区2024年政府工作报告", "西湖区", "杭州市", "浙江省", "county", "政府工作报告", 2023, 2024),
    "述法报告.wps": ("海宁市司法局局长2023年度述法报告", "海宁市", "嘉兴市", "浙江省", "county", "述法报告", 2023, 2024),
    "通知.wps": ("长兴县人民政府办公室关于印发长兴县2024年普法依法治理工作实施方案的通知", "长兴县", "湖州市", "浙江省", "county",
                "通知/意见/办法", 2024, 2024),
}


def _converter_needed() -> None:
    if shutil.which("soffice") or shutil.which("libreoffice"):
        return
    if os.environ.get("KB_CONVERTERS_REQUIRED") == "1":
        pytest.fail("LibreOffice (soffice) is not installed; scripts/test.sh installs libreoffice-writer-nogui")
    pytest.skip("LibreOffice not installed (scripts/test.sh installs it)")


def kb(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          encoding="utf-8", timeout=600, check=False)


def docs(index: Path) -> dict[str, dict]:
    p = kb("docs", "--json", "--index", str(index))
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        d = json.loads(line)
        out[Path(d["source"]).name] = d
    return out


@pytest.fixture(scope="module")
def folder_index(tmp_path_factory):
    _converter_needed()
    base = tmp_path_factory.mktemp("folder")
    folder = base / "in"
    shutil.copytree(FOLDER, folder)
    run = kb("ingest", str(folder), "--index", str(base / "index"), "--no-dense", "--quiet")
    return folder, base / "index", run


def test_every_file_goes_in_with_the_right_metadata(folder_index):
    _folder, index, run = folder_index
    assert run.returncode == 0, run.stderr
    found = docs(index)
    assert set(found) == set(EXPECTED), set(found) ^ set(EXPECTED)
    wrong = []
    for name, (title, region, city, province, level, doc_type, year, issued) in EXPECTED.items():
        d = found[name]
        got = (d["title"], d["region"], d["city"], d["province"], d["level"], d["doc_type"], d["year"], d["issued_year"])
        if got != (title, region, city, province, level, doc_type, year, issued):
            wrong.append(f"{name}: {got}")
        assert d["region_confidence"] and d["region_evidence"], name  # how the region was found is stored
    assert not wrong, "\n".join(wrong)


def test_unread_files_are_named_and_counted(folder_index):
    folder, _index, run = folder_index
    lines = run.stderr.splitlines()
    assert f"skipped: {folder / 'notes.xyz'}: unsupported type .xyz" in lines
    assert f"warning: {folder / '平湖市信息公开年报.doc'}: a web page saved as .doc; read as HTML" in lines
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"added {len(EXPECTED)}, updated 0, unchanged 0, failed 0, skipped 1"), summary


def test_kb_docs_shows_region_confidence_and_evidence(folder_index):
    _folder, index, _run = folder_index
    out = kb("docs", "--index", str(index)).stdout
    block = out.split("西湖区2024年政府工作报告\n", 1)[1].splitlines()[0]
    assert "region 0." in block and "file name 西湖区" in block and "speaks as a 区" in block


def test_corrections_survive_reparse_and_rm_survives_reingest(folder_index, tmp_path):
    folder, index, _run = folder_index
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    d = docs(copy)["rows.xls#row2"]
    p = kb("docs", "set", d["doc_id"], "--region", "安吉县", "--title", "安吉县2024年政府工作报告", "--index", str(copy))
    assert p.returncode == 0, p.stderr
    gone = docs(copy)["法治报告.tsv#row2"]
    assert kb("rm", gone["doc_id"], "--index", str(copy)).returncode == 0

    for again in ((), ("--reparse",)):  # re-ingest as it is, then re-derive everything
        run = kb("ingest", str(folder), "--index", str(copy), "--no-dense", "--quiet", *again)
        assert run.returncode == 0, run.stderr
        assert f"skipped: {folder / '法治报告.tsv'}#row2: removed with `kb rm`" in run.stderr
    after = docs(copy)
    fixed = after["rows.xls#row2"]
    assert (fixed["region"], fixed["city"], fixed["province"], fixed["title"]) == ("安吉县", "湖州市", "浙江省", "安吉县2024年政府工作报告")
    assert fixed["region_evidence"] == "corrected by a user" and set(fixed["corrected"]) >= {"region", "title"}
    assert "法治报告.tsv#row2" not in after
    assert after["rows.xls#row3"]["region"] == "桐乡市"  # the rest is derived again, unchanged


# ---------------------------------------------------------------------------------------------
# bad input in the new formats: one line naming file and reason; nothing indexed is lost


def test_bad_files_of_the_new_formats(folder_index, tmp_path):
    _folder, index, _run = folder_index
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    before = docs(copy)
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(BAD / "encrypted.xlsx", bad / "encrypted.xlsx")
    (bad / "no_content.csv").write_text("标题,年份,地区\n某报告,2023,某县\n", encoding="utf-8")
    (bad / "corrupt.ofd").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (bad / "random.ofd").write_bytes(os.urandom(300))
    data = (FOLDER / "reports.xlsx").read_bytes()  # a workbook cut short
    (bad / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    run = kb("ingest", str(bad), "--index", str(copy), "--no-dense", "--quiet")
    assert run.returncode == 2, run.stderr  # nothing went in
    failed = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in run.stderr.splitlines() if line.startswith("failed: ")}
    assert set(failed) == {str(bad / n) for n in ("encrypted.xlsx", "no_content.csv", "corrupt.ofd", "random.ofd", "truncated.xlsx")}
    assert "encrypted workbook (password-protected)" in failed[str(bad / "encrypted.xlsx")]
    assert "no content column" in failed[str(bad / "no_content.csv")] and "标题, 年份, 地区" in failed[str(bad / "no_content.csv")]
    assert "OFD" in failed[str(bad / "corrupt.ofd")] and "OFD" in failed[str(bad / "random.ofd")]
    assert "unreadable workbook" in failed[str(bad / "truncated.xlsx")]
    assert all("\n" not in reason for reason in failed.values())
    assert docs(copy) == before
