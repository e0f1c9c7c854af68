"""How well does kb read a real folder of reports? Title, region (with city and province), type
and the two years of each of the 47 files in ../shared/corpus/realworld/raw, against a table
written by reading every file (its opening lines, its signature, who speaks, the session it was
given at, the spreadsheet's columns).

    .venv/bin/python scripts/check_realworld_metadata.py                 # fresh BM25-only index in a temp dir
    .venv/bin/python scripts/check_realworld_metadata.py --index DIR     # an index already built from raw/
    .venv/bin/python scripts/check_realworld_metadata.py --docs-json F   # `kb docs --json` output (any kb version)
    .venv/bin/python scripts/check_realworld_metadata.py --anonymous     # files renamed doc01.txt …: no file-name
                                                                         # evidence (titles are not scored then)

A document counts as right when its title, region, city, province and type all match; years are
scored apart (a 政府工作报告 of 2024 covers 2023). Exits 1 below 45 of 47 right.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT.parent / "shared" / "corpus" / "realworld" / "raw"
TARGET = 45

GWR, FZ, XXGK = "政府工作报告", "法治政府建设年度报告", "政府信息公开工作年度报告"
SZ, GD = "深圳市", "广东省"


@dataclass(frozen=True)
class Expected:
    titles: tuple[str, ...]  # accepted forms, the first the one kb should give
    region: str
    city: str | None
    province: str
    doc_type: str
    year: int  # covered
    issued: int | None  # None: the document does not say


def _district(title: str, region: str, year: int, *more: str) -> Expected:
    return Expected((title, *more), region, SZ, GD, GWR, year - 1, year)


EXPECTED: dict[str, Expected] = {
    # Shenzhen: district 政府工作报告 scraped without their title; the body opens at 各位代表：
    "2023年政府工作报告（在福田区第八届人民代表大会第三次会议上）_2023.txt":
        _district("2023年政府工作报告（在福田区第八届人民代表大会第三次会议上）", "福田区", 2023),
    "2024年光明区政府工作报告_2024.txt": _district("2024年光明区政府工作报告", "光明区", 2024),
    "2024年南山区政府工作报告_2024.txt": _district("2024年南山区政府工作报告", "南山区", 2024),
    "2024年坪山区政府工作报告_2024.txt": _district("2024年坪山区政府工作报告", "坪山区", 2024),
    "2024年政府工作报告（在深圳市罗湖区第八届人民代表大会第四次会议上）_2024.txt":
        _district("2024年政府工作报告（在深圳市罗湖区第八届人民代表大会第四次会议上）", "罗湖区", 2024),
    "2024年龙华区二届人大四次会议政府工作报告_2024.txt": _district("2024年龙华区二届人大四次会议政府工作报告", "龙华区", 2024),
    "盐田区2024年政府工作报告_2024.txt": _district("盐田区2024年政府工作报告", "盐田区", 2024),
    "龙岗区2024年政府工作报告_2024.txt": _district("龙岗区2024年政府工作报告", "龙岗区", 2024),
    "深圳市宝安区人民政府区长王立德在深圳市宝安区第七届人民代表大会第四次会议上作政府工作报告_2024.txt": _district(
        "深圳市宝安区人民政府区长王立德在深圳市宝安区第七届人民代表大会第四次会议上作政府工作报告（2024年）", "宝安区", 2024,
        "深圳市宝安区人民政府区长王立德在深圳市宝安区第七届人民代表大会第四次会议上作政府工作报告"),
    # a functional zone (not an administrative district) reporting to the district congress
    "大鹏新区2024年管理委员会工作报告_2024.txt": _district("大鹏新区2024年管理委员会工作报告", "大鹏新区", 2024),
    "深圳市政府工作报告_2026年.txt": Expected(("深圳市政府工作报告（2026年）", "深圳市政府工作报告", "深圳市2026年政府工作报告"),
                                      SZ, SZ, GD, GWR, 2025, 2026),
    "广东省政府工作报告_2024年.txt": Expected(("广东省政府工作报告（2024年）", "广东省政府工作报告", "广东省2024年政府工作报告"),
                                      GD, None, GD, GWR, 2023, 2024),
    # the two 法治政府建设年度报告: body opens at 现将有关情况报告如下, signed at the end
    "深圳市光明区人民政府关于2021年度法治政府建设情况的报告_2022.txt":
        Expected(("深圳市光明区人民政府关于2021年度法治政府建设情况的报告",), "光明区", SZ, GD, FZ, 2021, 2022),
    "深圳市龙华区2019年法治政府建设工作报告_2019.txt":
        Expected(("深圳市龙华区2019年法治政府建设工作报告",), "龙华区", SZ, GD, FZ, 2019, 2019),
    # PDFs: title in two lines under page number - 1 -; compiled by the district government office
    "hzq2023_working.pdf": Expected(("洪泽区人民政府2023年政府信息公开工作年度报告",), "洪泽区", "淮安市", "江苏省", XXGK, 2023, None),
    "hzq2024_working.pdf": Expected(("淮安市洪泽区人民政府2024年政府信息公开工作年度报告",), "洪泽区", "淮安市", "江苏省", XXGK, 2024, None),
}
# 31 provincial 政府工作报告 of 2026 (covering 2025), one CSV each: the title is the title column
_PROVINCE_TITLES = {
    "上海市": "2026年上海市政府工作报告", "云南省": "2026年政府工作报告", "四川省": "2026年四川省人民政府工作报告",
    "陕西省": "陕西省2026年政府工作报告",
}
for _p in ("上海市 云南省 内蒙古自治区 北京市 吉林省 四川省 天津市 宁夏回族自治区 安徽省 山东省 山西省 广东省 广西壮族自治区 "
           "新疆维吾尔自治区 江苏省 江西省 河北省 河南省 浙江省 海南省 湖北省 湖南省 甘肃省 福建省 西藏自治区 贵州省 辽宁省 "
           "重庆市 陕西省 青海省 黑龙江省").split():
    EXPECTED[f"2026_{_p}_政府工作报告.csv"] = Expected(
        (_PROVINCE_TITLES.get(_p, f"2026年{_p}政府工作报告"),), _p, None, _p, GWR, 2025, 2026)


def _norm(title: str) -> str:
    return re.sub(r"\s+", "", title).replace("(", "（").replace(")", "）")


def _file_of(source: str) -> str:
    return Path(re.sub(r"#.*$", "", source)).name


def score(docs: list[dict], renamed: dict[str, str] | None = None) -> int:
    by_file: dict[str, list[dict]] = {}
    for d in docs:
        name = _file_of(d["source"])
        by_file.setdefault((renamed or {}).get(name, name), []).append(d)
    right = years = 0
    rows = []
    for name, exp in sorted(EXPECTED.items()):
        found = by_file.get(name, [])
        if len(found) != 1:
            rows.append(f"✗ {name}: {len(found)} documents (expected one)")
            continue
        d = found[0]
        checks = {
            "title": renamed is not None or _norm(d.get("title") or "") in {_norm(t) for t in exp.titles},
            "region": d.get("region") == exp.region,
            "city": d.get("city") == exp.city,
            "province": d.get("province") == exp.province,
            "type": d.get("doc_type") == exp.doc_type,
        }
        year_ok = d.get("year") == exp.year and (exp.issued is None or d.get("issued_year") == exp.issued)
        ok = all(checks.values())
        right += ok
        years += year_ok
        wrong = [k for k, v in checks.items() if not v] + ([] if year_ok else ["years"])
        got = f"{d.get('title')} | {d.get('region')} · {d.get('city')} · {d.get('province')} | {d.get('doc_type')} | " \
              f"{d.get('year')}/{d.get('issued_year')}"
        rows.append(f"{'✓' if ok else '✗'} {name}" + ("" if not wrong else f"\n    wrong: {', '.join(wrong)}\n    got:   {got}"
                                                         f"\n    want:  {exp.titles[0]} | {exp.region} · {exp.city} · "
                                                         f"{exp.province} | {exp.doc_type} | {exp.year}/{exp.issued}"))
    extra = sorted(set(by_file) - set(EXPECTED))
    print("\n".join(rows))
    if extra:
        print(f"documents from files not in the table: {', '.join(extra)}")
    what = "region (with city and province) and type, files renamed" if renamed is not None else \
        "title, region (with city and province) and type"
    print(f"\nright {what}: {right}/{len(EXPECTED)}"
          f"  (target ≥ {TARGET}); years covered/issued right: {years}/{len(EXPECTED)}")
    return right


def _docs_from_index(index: Path | None, folder: Path = RAW) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from kb import KnowledgeBase

    if index is None:
        index = Path(tempfile.mkdtemp(prefix="kb-realworld-")) / "index"
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
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--index", type=Path, help="an index built from the realworld raw/ folder")
    src.add_argument("--docs-json", type=Path, help="the output of `kb docs --json` (one object a line)")
    src.add_argument("--anonymous", action="store_true", help="ingest copies named doc01.txt, doc02.csv …")
    args = ap.parse_args()
    if args.anonymous:
        folder = Path(tempfile.mkdtemp(prefix="kb-realworld-anon-"))
        renamed = {}
        for i, path in enumerate(sorted(RAW.iterdir()), 1):
            name = f"doc{i:02d}{path.suffix}"
            shutil.copy(path, folder / name)
            renamed[name] = path.name
        return 0 if score(_docs_from_index(None, folder), renamed) >= TARGET else 1
    if args.docs_json:
        docs = [json.loads(line) for line in args.docs_json.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        docs = _docs_from_index(args.index)
    return 0 if score(docs) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
