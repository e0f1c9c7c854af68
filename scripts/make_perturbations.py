"""Build eval/perturbations.jsonl: which-regions questions whose practice is reworded the way users do.

    python scripts/make_perturbations.py            # write eval/perturbations.jsonl
    python scripts/make_perturbations.py --check    # exit 1 if the committed file differs from a fresh build
    python scripts/make_perturbations.py --candidates   # also print every mined practice with its regions

Independent of kb: only the standard library, opencc (t2s folding) and jieba (word boundaries).
See eval/perturbations.md for what the rows mean.

1. Practices are mined from the 52 reports (47 realworld + 5 seeds): quoted phrases, the terms of
   kb/data/lexicon.txt, and recurring 4–8 character compounds ending in an institutional suffix,
   kept when 1–12 reports state them and they look like practices (no numbers, dates, place names,
   slogans; a compound must stand as a name: what precedes it is a verb, 的 or punctuation).
2. Truth: a report states practice P when its folded text (t2s, full-width→half-width, quote marks
   and whitespace removed) contains P verbatim. Its region is the hand-mapped label below (what the
   report is ABOUT). A perturbed form is only used when no report outside P's truth states it
   (otherwise the reworded question would have a different right answer).
3. Each practice yields questions of six kinds (modifier, suffix, insert, drop, join, scaffold);
   a fixed-seed draw picks a mix over practices and question scaffolds.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
OUT = ROOT / "eval" / "perturbations.jsonl"
LEXICON = ROOT / "kb" / "data" / "lexicon.txt"
SEED = 20240611
PER_KIND = {"modifier": 56, "suffix": 56, "insert": 48, "drop": 44, "join": 52, "scaffold": 56}
MAX_RELEVANT = 10

# ---------------------------------------------------------------------------------------------
# the 52 reports: file (realworld raw_file name / seed stem) → the region the report is ABOUT,
# written by hand from each title (or, for untitled seeds, the body).

REPORTS: list[tuple[str, str]] = [
    ("深圳市光明区人民政府关于2021年度法治政府建设情况的报告_2022.txt", "光明区"),
    ("深圳市龙华区2019年法治政府建设工作报告_2019.txt", "龙华区"),
    ("hzq2023_working.pdf", "洪泽区"),  # 洪泽区人民政府2023年政府信息公开工作年度报告
    ("hzq2024_working.pdf", "洪泽区"),  # 淮安市洪泽区人民政府2024年政府信息公开工作年度报告
    ("2024年光明区政府工作报告_2024.txt", "光明区"),
    ("2024年南山区政府工作报告_2024.txt", "南山区"),
    ("2024年坪山区政府工作报告_2024.txt", "坪山区"),
    ("大鹏新区2024年管理委员会工作报告_2024.txt", "大鹏新区"),
    ("深圳市宝安区人民政府区长王立德在深圳市宝安区第七届人民代表大会第四次会议上作政府工作报告_2024.txt", "宝安区"),
    ("盐田区2024年政府工作报告_2024.txt", "盐田区"),
    ("2023年政府工作报告（在福田区第八届人民代表大会第三次会议上）_2023.txt", "福田区"),
    ("2024年政府工作报告（在深圳市罗湖区第八届人民代表大会第四次会议上）_2024.txt", "罗湖区"),
    ("2024年龙华区二届人大四次会议政府工作报告_2024.txt", "龙华区"),
    ("龙岗区2024年政府工作报告_2024.txt", "龙岗区"),
    ("深圳市政府工作报告_2026年.txt", "深圳市"),
    ("2026_上海市_政府工作报告.csv", "上海市"),
    ("2026_云南省_政府工作报告.csv", "云南省"),  # title is only 2026年政府工作报告
    ("2026_内蒙古自治区_政府工作报告.csv", "内蒙古自治区"),
    ("2026_北京市_政府工作报告.csv", "北京市"),
    ("2026_吉林省_政府工作报告.csv", "吉林省"),
    ("2026_四川省_政府工作报告.csv", "四川省"),
    ("2026_天津市_政府工作报告.csv", "天津市"),
    ("2026_宁夏回族自治区_政府工作报告.csv", "宁夏回族自治区"),
    ("2026_安徽省_政府工作报告.csv", "安徽省"),
    ("2026_山东省_政府工作报告.csv", "山东省"),
    ("2026_山西省_政府工作报告.csv", "山西省"),
    ("广东省政府工作报告_2024年.txt", "广东省"),
    ("2026_广东省_政府工作报告.csv", "广东省"),
    ("2026_广西壮族自治区_政府工作报告.csv", "广西壮族自治区"),
    ("2026_新疆维吾尔自治区_政府工作报告.csv", "新疆维吾尔自治区"),
    ("2026_江苏省_政府工作报告.csv", "江苏省"),
    ("2026_江西省_政府工作报告.csv", "江西省"),
    ("2026_河北省_政府工作报告.csv", "河北省"),
    ("2026_河南省_政府工作报告.csv", "河南省"),
    ("2026_浙江省_政府工作报告.csv", "浙江省"),
    ("2026_海南省_政府工作报告.csv", "海南省"),
    ("2026_湖北省_政府工作报告.csv", "湖北省"),
    ("2026_湖南省_政府工作报告.csv", "湖南省"),
    ("2026_甘肃省_政府工作报告.csv", "甘肃省"),
    ("2026_福建省_政府工作报告.csv", "福建省"),
    ("2026_西藏自治区_政府工作报告.csv", "西藏自治区"),
    ("2026_贵州省_政府工作报告.csv", "贵州省"),
    ("2026_辽宁省_政府工作报告.csv", "辽宁省"),
    ("2026_重庆市_政府工作报告.csv", "重庆市"),
    ("2026_陕西省_政府工作报告.csv", "陕西省"),
    ("2026_青海省_政府工作报告.csv", "青海省"),
    ("2026_黑龙江省_政府工作报告.csv", "黑龙江省"),
    ("000_c9e59a73c192d5a5", "上虞区"),  # 紹興市上虞區2020年度法治政府建設工作情況 (Traditional)
    ("001_74313762b1c5614a", "密云区"),  # 北京市密云区人民政府2020年法治政府建设年度情况报告
    ("002_fff62cd9c49e0397", "海盐县"),  # 海盐县司法局 reply to 县政协 proposal No. 75
    ("003_bfb9d506e037e3d8", "阳城镇"),  # 关于2024年法治政府建设工作情况的报告 (我镇; 阳城镇 in the body)
    ("004_f21906246d79febd", "安阳县"),  # 安阳县人民政府 2021 法治政府建设
]

# ---------------------------------------------------------------------------------------------
# text forms

QUOTES = "“”‘’\"'「」『』"
STRIP = re.compile(rf"[\s{re.escape(QUOTES)}]")
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20
CJK = "\u4e00-\u9fff"


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """Traditional→Simplified (length kept: a phrase rule that changes length is undone char by
    char) and full-width ASCII→half-width."""
    conv = _t2s().convert
    out = conv(text)
    if len(out) != len(text):
        out = "".join(s if len(s := conv(c)) == 1 else c for c in text)
    return out.translate(_WIDTH)


def norm(text: str) -> str:
    return STRIP.sub("", fold(text))


@lru_cache(maxsize=1)
def _jieba():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    return list(_jieba().cut(text, HMM=False))


def tagged(text: str) -> list[tuple[str, str]]:
    _jieba()
    import jieba.posseg as pseg

    return [(w.word, w.flag) for w in pseg.cut(text, HMM=False)]


@dataclass
class Doc:
    key: str  # written as `doc`: picks out exactly this document by file name / stem
    title: str
    label: str
    folded: str
    stripped: str = ""
    index: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = [i for i, c in enumerate(self.folded) if not STRIP.match(c)]
        self.stripped = "".join(self.folded[i] for i in self.index)

    def surface(self, phrase: str) -> str:
        """The text behind the first occurrence of `phrase` (stripped form) as the document has it,
        quote marks inside kept; where a line break cuts it, the longest piece."""
        at = self.stripped.find(phrase)
        a, b = self.index[at], self.index[at + len(phrase) - 1] + 1
        piece = max(re.split(r"\s+", self.folded[a:b]), key=len)
        return piece.strip(QUOTES)


def load_docs(shared: Path) -> list[Doc]:
    labels = dict(REPORTS)
    docs = []
    rows = [json.loads(l) for l in (shared / "corpus/realworld/reports.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    for row in rows:
        name = Path(row["raw_file"]).name
        docs.append(Doc(name, row["title"], labels.pop(name), fold(row["content"])))
    for path in sorted((shared / "corpus/seeds").glob("*.txt")):
        docs.append(Doc(path.stem, path.stem, labels.pop(path.stem), fold(path.read_text(encoding="utf-8"))))
    if labels:
        raise SystemExit(f"reports in the label table but not in the corpus: {sorted(labels)}")
    for d in docs:  # each key names exactly one document (by file name or title)
        hits = [e for e in docs if d.key in e.key or d.key in e.title]
        if hits != [d]:
            raise SystemExit(f"doc key {d.key} matches {len(hits)} documents")
    names = sorted({d.label for d in docs})
    for a in names:
        for b in names:
            if a != b and a in b:
                raise SystemExit(f"label {a} is a substring of label {b}")
    return docs


# ---------------------------------------------------------------------------------------------
# mining practices

SUFFIXES = ("机制", "制度", "清单", "平台", "中心", "改革", "服务", "执法", "监管", "模式", "工程", "行动")
# quoted phrases: kept when they end like an institution or read like a working method
QUOTED_ENDS = SUFFIXES + ("审批", "通办", "联动", "计划", "体系", "一次", "一件事", "不罚", "免罚", "制")
QUOTED_CUES = re.compile(r"(即办|速办|网办|一网|通办|帮办|代办|即入|即开工|挂帅|代赈|合一|分离|不扰|承诺|受理|"
                         r"入企|上楼|一证|一码|公示|调解|普法|督察|飞地|标准地)")
NUMERIC = re.compile(r"[0-9]|^[二三四五六七八九十百千万两]|^[一双][大个项张条类件种支级批场]|[年月日号]$|"
                     r"[一二三四五六七八九十][大个项张条类件种]")
PLACES = re.compile(
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|"
    "四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门|深圳|光明|龙华|洪泽|南山|坪山|"
    "大鹏|宝安|盐田|福田|罗湖|龙岗|上虞|密云|海盐|阳城|安阳|淮安|湾区|粤港澳|长三角|京津冀|成渝|川渝|黄河|"
    "长江|中国|全国|国家|国际|世界|全球|亚洲|东盟|中欧|丝路|丝绸之路|晋江|浦江|枫桥|长汀|红树林|渝|粤|闽|鲁|"
    "皖|赣|湘|鄂|蜀|陇|滇|黔|桂|冀|豫|晋|津|沪|辽|苏|浙|川|琼|蒙|疆|藏")
# read by hand from the mined list: negatives (形象工程), slogans and brand names of one place's
# programmes (登峰计划, 光速办), terms that are not practices (信息公开, 纠错率), generic heads
# (医疗卫生服务), and fragments whose boundaries jieba got wrong (修复重大工程, 分钟文体服务)
def _terms(text: str) -> set[str]:
    return set(text.split())


EXCLUDE = _terms("""
形象工程 政绩工程 面子工程 头号工程 一号工程 以治病为中心 以健康为中心 一国两制 精准扶贫 第一责任人
关键少数 信息公开 依申请公开 行政诉讼 行政争议 双随机 一公开 深层次改革 供给侧结构性改革 公共服务平台
权力关进制度 区域性中心 城市副中心 营商环境行动 山海联动 双城联动 贷投批量联动 府检联动 双高建设计划
伙伴计划 登峰计划 脱颖计划 筑基计划 鹏程计划 芙蓉计划 西部计划 天骏计划 贡嘎计划 每周半天计划
星罗棋布计划 玉如意计划 网链共享计划 共同成长计划 人才高地计划 卓越锻造计划 卓越工程师计划 梧桐人才计划
长白英才计划 凤凰英才计划 山海连城计划 山海连城三年行动计划 护苗行动 迎客松行动 凤凰行动 精英行动
璀璨行动 格桑花行动 扎根行动 微克行动 首善行动 益企行动 双百行动 改革创新系列行动 警戒巡逻行动
天府银龄行动 乡村驭风行动 山水工程 点亮工程 新强师工程 天网工程 雪亮工程 温暖工程 满园工程 乐侨工程
沃土工程 源动力工程 共链工程 农体工程 中医药攀登工程 一村一名大学生工程 道路与桥梁工程 食品放心工程
中华文明探源工程 双百工程 软平台 一委一办一平台 台胞寻根平台 经济大数据综合平台 一部一基地六中心
一馆一中心 一区三中心 为军服务法律中心 双中心 全时服务 人找服务 闭环服务 一套体系 一区两体系
完善企业服务体系 龙岭模式 多向多业务交易模式 重构房地产商业模式 量身定制 创新推动招商引资改革
一窗跨省通办联盟 业主制 街区制 食品全市通办制 天府入企码 发展飞地 趋利性执法 承诺办 街区制模式
一圈一网一高地 一公里半径普法阵地圈 一领域一清单 一办法两清单 一图三清单 民生清单 换位跑一次
数据最多采一次 基层报表数据只报一次 只报一次 最多填一次 双速办 光速办 纠错率 直接纠错率 败诉率
出庭应诉率 公职律师 一揽子服务 中心体制机制改革 人力资源服务 企业型平台 信息技术服务 修复重大工程
先进制造业中心 关键环节改革 其他优抚对象服务 分钟文体服务 医疗健康服务 医疗卫生服务 华大时空中心
基础科学中心 外资研发中心 开放促改革 政府网站平台 文明实践志愿服务 新一轮找矿行动 早期岭南探源工程
法治化综合改革 湛江省域副中心 生态文明制度 相关配套制度 省级中试平台 知识密集型服务 示范区制度
社会保障制度 社会群体服务 突破年行动 自治区国资委监管 运营组织中心 综合治理工程 高原医学研究中心
量子计算研发平台 顶尖企业研发中心 深海科考中心 智能制造中心 供应链服务 人才培养模式 外出务工服务
海关特殊监管 工程技术研究中心 实体经济调研服务 农业贸易合作中心
""")
VERBS = _terms("""推行 推进 推动 实施 实行 建立 健全 建立健全 完善 深化 开展 加强 建设 打造 构建 落实 创新 优化 探索
推广 设立 组建 建成 启动 试点 出台 制定 印发 发布 规范 强化 提升 升级 扩大 率先 全面 深入 持续 积极 大力
加快 稳步 全力 着力 继续 首创 形成 大力发展 扎实推进 抓好 确保 属于 践行 奋力 聚焦 释放 激活 融入 新增
全面落实 攻坚克难 不遗余力 奋力谱写 严格 分类推进 加快推进 用好 做好 开通 上线 搭建 引入 实现 坚持 依托 通过 发挥 用 以 按照 围绕
争创 创建 新建 筹建 获批 成立 改革 完成 全面推行 全面实施 深入推进 健全完善 不断完善 加大 支持 鼓励 引导
培育 发展 保障 提高 做强 做优 壮大 增强 巩固 拓展 拓宽 延伸 覆盖 入选 获评 成为 打通 贯彻 执行 落地""")
FUNC = _terms("的 等 和 与 及 以及 或 并 是 在 对 把 被 将 为 个 了 着 这 该 其 之 一批 一系列 各 各类 各项")
INNER_BAD = _terms("的 等 和 与 及 以及 或 并 之 新 型")
GENERIC_HEADS = _terms("""工作 管理 发展 协调 合作 重点 综合 服务 推进 相关 有关 重大 重要 专项 长效 联动 保障 运行 协同
创新 公共 社会 区域 专业 基础 现代 市场 政府 企业 产业 经济 城市 科技 技术 信息 数字 智慧 安全 质量 民生 示范
整治 提升 改造 建设 治理 生态 文化 人才 项目 资源 平台 体系 领域 关键 环节 特色 标志性 引领 省级
市级 以上 高质量 高品质 群体 其他 社会 开放 基层 消费 经济 市民 居住 高校 军队 税制 商贸 商务 交易 旅游 创业
聚焦 贴心 延时 增值 涉外 认证 招商 推介 激活""")


def load_lexicon() -> list[str]:
    out = []
    for line in LEXICON.read_text(encoding="utf-8").splitlines():
        term = line.split("#", 1)[0].strip()
        if term and re.fullmatch(rf"[{CJK}]+", term):
            out.append(term)
    return out


def looks_like_practice(p: str) -> bool:
    return (3 <= len(p) <= 10 and re.fullmatch(rf"[{CJK}]+", p) is not None and p not in EXCLUDE
            and not NUMERIC.search(p) and not PLACES.search(p))


def quoted_phrases(docs: list[Doc]) -> set[str]:
    out = set()
    for d in docs:
        for m in re.finditer(rf"[“「『‘]([{CJK}]{{3,10}})[”」』’]", d.folded):
            p = m.group(1)
            if p.endswith(QUOTED_ENDS) or QUOTED_CUES.search(p):
                out.add(p)
    return out


def suffix_compounds(docs: list[Doc]) -> set[str]:
    """4–8 character runs of jieba words ending in an institutional suffix that recur as a name:
    at least 2 occurrences, and most of them standing alone (what precedes is punctuation, a verb,
    的/和…; what follows is not another suffix, so 公积金制度 in 公积金制度改革 does not count)."""
    seen: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for d in docs:
        for seg in re.split(rf"[^{CJK}]+", d.stripped):
            if len(seg) < 4:
                continue
            toks = words(seg)
            for j, tok in enumerate(toks):
                if tok not in SUFFIXES:
                    continue
                after = toks[j + 1] if j + 1 < len(toks) else ""
                right = after not in SUFFIXES and after not in ("体系", "体制", "试点", "工作", "制度")
                s = tok
                for k in range(j - 1, -1, -1):
                    s = toks[k] + s
                    if len(s) > 8:
                        break
                    head = toks[k:j]
                    if (len(s) < 5 or len(toks[k]) == 1 or any(t in VERBS or t in INNER_BAD for t in head)
                            or toks[k] in FUNC or all(t in GENERIC_HEADS for t in head)):
                        continue
                    before = toks[k - 1] if k > 0 else ""
                    seen[s] += 1
                    if right and (not before or before in VERBS or before in FUNC):
                        closed[s] += 1
    return {s for s, n in closed.items() if n >= 2 and n * 2 >= seen[s]}


@dataclass
class Practice:
    name: str
    source: str  # quoted | lexicon | compound
    docs: list[Doc]

    @property
    def regions(self) -> list[str]:
        return list(dict.fromkeys(d.label for d in self.docs))


def states(docs: list[Doc], phrase: str) -> list[Doc]:
    n = norm(phrase)
    return [d for d in docs if n in d.stripped]


def mine(docs: list[Doc]) -> list[Practice]:
    found: dict[str, str] = {}
    for p in sorted(quoted_phrases(docs)):
        found.setdefault(p, "quoted")
    for p in load_lexicon():
        found.setdefault(p, "lexicon")
    for p in sorted(suffix_compounds(docs)):
        found.setdefault(p, "compound")
    out = []
    for p, src in sorted(found.items()):
        if not looks_like_practice(p):
            continue
        ds = states(docs, p)
        if 1 <= len(ds) <= 12:
            out.append(Practice(p, src, ds))
    return out


# ---------------------------------------------------------------------------------------------
# how a practice is asked about: its class decides the verbs that go with it

CLASSES = [  # (class, endings) — first matching ending wins, longest endings listed first
    ("econ", ("飞地经济", "飞地园区", "飞地")),
    ("build", ("示范村", "乡村", "平台", "中心", "体系")),
    ("reform", ("改革",)),
    ("action", ("行动", "工程")),
    ("service", ("服务",)),
    ("mech", ("机制", "制度", "清单", "制")),
    ("enforce", ("执法", "监管", "审批", "审查", "记录", "公示", "普法", "督察", "应诉", "审核", "下放", "许可权")),
    ("model", ("模式",)),
]
VERBS_OF = {
    "econ": ["发展", "建设"], "build": ["建设", "打造"], "reform": ["推进", "深化"], "action": ["实施", "开展"],
    "service": ["提供", "开展", "推行"], "mech": ["建立", "推行", "实行"], "enforce": ["推行", "实行", "开展"],
    "model": ["推行", "推广", "探索"], "slogan": ["推行", "推进", "实行"],
}
VERB_OVERRIDE = {
    "民主法治示范村": ["创建"], "法治乡村": ["建设"], "特邀监督员": ["聘请"], "以工代赈": ["实施", "推行"],
    "放管服": ["推进", "深化"], "大综合一体化": ["推进"], "矛盾纠纷多元化解": ["推进", "开展"],
    "领导干部学法": ["开展", "推行"], "执法权下放": ["推进"], "大调解": ["推进"], "社会化大普法": ["推进", "开展"],
    "工程": ["实施", "推进"], "清单": ["推行", "实行"], "制": ["推行", "实行"], "飞地结对": ["开展"],
    "飞地经济": ["发展"], "法律援助": ["开展", "提供"], "人民调解": ["开展"], "法律顾问": ["聘请"],
    "综合行政执法": ["推进", "推行"], "综合执法": ["推进", "推行"], "相对集中行政许可权": ["推行", "实行"],
}
ADVERBS = {"推行": ["全面", "积极", "大力"], "推进": ["深入", "加快", "稳步"], "实施": ["深入", "全面"],
           "开展": ["深入", "扎实", "广泛"], "建设": ["加快", "高标准"], "打造": ["着力"], "实行": ["全面", "严格"],
           "深化": ["持续", "全面"], "推广": ["大力", "积极"], "探索": ["积极"], "发展": ["大力"], "创建": ["积极"]}
WORKABLE = ("slogan", "enforce", "service")  # X工作 reads naturally …


def workable(p: str) -> bool:
    return klass(p) in WORKABLE and not p.endswith(("工作", "许可权", "下放", "监督员"))  # … except for these


def klass(p: str) -> str:
    for name, ends in CLASSES:
        if p.endswith(ends):
            if name == "mech" and p.endswith("制") and not p.endswith(("机制", "体制")) and len(p) > 5:
                return "slogan"  # 证明事项告知承诺制 is asked about like a slogan
            return name
    return "slogan"


def verbs_of(p: str) -> list[str]:
    if p in VERB_OVERRIDE:
        return VERB_OVERRIDE[p]
    if p.endswith("监管") and len(p) >= 6 and last_tag(p[:-2])[1] == "n":
        return ["加强", "开展"]  # 医保基金监管: a domain is supervised, not a method adopted
    for end in ("工程", "清单", "飞地经济"):
        if p.endswith(end):
            return VERB_OVERRIDE[end]
    if klass(p) == "mech" and p.endswith("制") and not p.endswith("机制"):
        return VERB_OVERRIDE["制"]
    return VERBS_OF[klass(p)]


# ---------------------------------------------------------------------------------------------
# question scaffolds: {v} the verb phrase, {x} the (perturbed) practice

SCAFFOLDS = {
    "S1": "哪些地区{v}{x}",
    "S2": "哪些地方{v}{x}",
    "S3": "哪些城市{v}{x}",
    "S4": "有哪些地区在{v}{x}",
    "S5": "{x}在哪些地区{v}",
    "S6": "哪些地区开展了{x}工作",
    "S7": "列出{v}{x}的地区",
}


def scaffold_ok(sid: str, x: str, cls: str, regions: list[str], verb: str, kind: str) -> bool:
    if sid == "S3":  # 哪些城市: only when every expected region is a city or a district
        return all(r.endswith(("市", "区")) and not r.endswith("自治区") for r in regions)
    if sid == "S6":
        return workable(x) and kind != "modifier"
    if sid == "S7":  # 列出推行X的机制的地区: two 的 in a row read badly
        return "的" not in x
    if sid == "S5":
        return verb != "提供" and not verb.startswith("建立健全")
    return True


def render_q(sid: str, verb: str, x: str) -> str:
    return SCAFFOLDS[sid].format(v=verb, x=x)


# ---------------------------------------------------------------------------------------------
# perturbations: each returns (form, verbs) pairs; the form replaces the practice in the question


@dataclass
class Variant:
    kind: str
    practice: Practice
    x: str  # what the question names
    verbs: list[str]
    rule: str  # which generator made it
    other: Practice | None = None  # join: the second practice


def subset_ok(docs: list[Doc], p: Practice, form: str) -> bool:
    """A perturbed form may only be stated by reports that state the practice itself."""
    return set(map(id, states(docs, form))) <= set(map(id, p.docs))


def modifiers(docs: list[Doc], p: Practice) -> list[tuple[str, list[str], str]]:
    cls, out = klass(p.name), []
    for v in verbs_of(p.name):
        if v == "建立":
            out.append((p.name, ["建立健全"], "建立健全X"))
        for adv in ADVERBS.get(v, []):
            if adv != "严格" or p.name.endswith(("制度", "清单")):  # 严格实行 goes with rules, not slogans
                out.append((p.name, [adv + v], f"{adv}{v}X"))
    if workable(p.name):
        out.append((p.name + "工作", ["推进", "开展", "做好"], "X工作"))
    if cls == "build":
        out.append((p.name + "建设", ["加强", "推进"], "X建设"))
    if cls in ("slogan", "enforce") and states(docs, p.name + "改革"):  # 深化证照分离改革: only where the corpus says X改革
        out.append((p.name + "改革", ["深化", "推进"], "深化X改革"))
    return out


SWAP = {"机制": "制度", "制度": "机制"}
ADD_SUFFIX = [  # (ending of a practice without an institutional suffix, suffixes that read naturally)
    ("综合行政执法", []), ("综合执法", []),  # 综合行政执法机制 is not said; its suffix is 改革 (modifier)
    ("通办", ["机制"]), ("即办", ["机制", "模式"]), ("速办", ["机制"]), ("网办", ["模式"]), ("办事", ["模式"]),
    ("不罚", ["制度", "清单"]), ("执法", ["机制"]), ("监管", ["机制"]), ("审批", ["模式"]),
    ("联动", ["机制"]), ("挂帅", ["机制", "制度"]), ("管运分离", ["模式"]), ("入企", ["制度", "机制"]),
    ("不扰", ["机制", "清单"]), ("开工", ["模式"]), ("上楼", ["模式"]), ("代赈", ["模式"]), ("科创飞地", ["模式"]),
    ("反向飞地", ["模式"]), ("承诺", ["制", "制度"]), ("承诺制", ["度"]), ("受理", ["机制", "制度"]),
    ("公示", ["制度"]), ("记录", ["制度"]), ("应诉", ["制度", "机制"]), ("督察", ["制度", "机制"]), ("学法", ["制度"]),
    ("化解", ["机制"]), ("审核", ["制度"]), ("包容审慎", ["监管"]), ("统管", ["模式"]), ("标准地", ["模式"]),
    ("即入", ["制度"]), ("先办", ["机制"]), ("查一次", ["机制"]), ("长制", ["度"]), ("导师制", ["度"]),
]


def suffixes(docs: list[Doc], p: Practice) -> list[tuple[str, list[str], str]]:
    name, out = p.name, []
    for old, new in SWAP.items():  # X机制 ↔ X制度: only where the core X is never stated apart
        core = name[: -len(old)]
        if name.endswith(old) and len(core) >= 4 and not core.endswith(("工作", "体制")) and subset_ok(docs, p, core):
            lead = [w for w, _ in tagged(core)][-1]
            if tagged(lead)[0][1] in ("v", "vn") or lead.endswith(("审查", "共享", "执法")):
                out.append((core + new, verbs_of(core + new), f"X{old}→X{new}"))
    if name.endswith("清单"):
        out.append((name + "制度", ["推行", "实行", "建立"], "X清单→X清单制度"))
    for end, adds in ADD_SUFFIX:
        if name.endswith(end) and klass(name) in ("slogan", "enforce", "econ"):
            for add in adds:
                out.append((name + add, verbs_of(name + add), f"X→X{add}"))
            break
    return [(x, v, r) for x, v, r in out if x != name and subset_ok(docs, p, x)]


def last_tag(text: str) -> tuple[str, str]:
    return tagged(text)[-1]


def head_inserts(p: str) -> list[tuple[str, str]]:
    """的 / 工作 between a practice's modifier and its head, where jieba says the modifier ends in
    a verb (信息共享的机制, 联合执法工作机制) or, before 改革/监管, in a noun (户籍制度的改革)."""
    out = []
    for head in ("机制", "制度", "模式", "改革", "监管"):
        core = p[: -len(head)]
        if not p.endswith(head) or len(core) < 4 or core.endswith(("工作", "服务", "综合", "的")):
            continue
        word, flag = last_tag(core)
        if head in ("机制", "制度", "模式") and flag in ("v", "vn"):
            out.append((f"{core}的{head}", "X机制→X的机制"))
            if head == "机制":
                out.append((f"{core}工作{head}", "X机制→X工作机制"))
        if head in ("改革", "监管") and flag in ("n", "nz", "j", "l") and len(word) >= 2:
            out.append((f"{core}的{head}", f"X{head}→X的{head}"))
    return out


INSERTS = [  # (pattern, replacement, rule): a unit people add without changing what they mean
    (r"(合法|规范)(?!性)(?=..)", r"\1性", "+性"),
    (r"违法(?!行为)(?=.)", "违法行为", "+行为"),
    (r"(?<=.)(?<!全)(?=过程|流程|生命周期)", "全", "+全"),
    (r"(?<=规范|标准|常态|精细)(?!化)(?=管理|建设|监管|服务)", "化", "+化"),
    (r"执法公示", "执法信息公示", "+信息"),
    (r"^矛盾纠纷(?=多元化解)", "矛盾纠纷的", "+的"),
    (r"(?<=决定)(?=法制审核)", "的", "+的"),
    (r"^执法(?=全过程记录)", "执法的", "+的"),
    (r"(?<=..)(?<!专项)(?=行动$)", "专项", "+专项"),
]
DROPS = [  # (pattern, replacement, rule): a unit people leave out; never the first or last character
    (r"(?<=.)的(?=.)", "", "-的"),
    (r"(?<=合法|规范)性(?=..)", "", "-性"),
    (r"(?<=.)全(?=过程|流程|生命周期|周期)", "", "-全"),
    (r"(?<=规范|标准|常态|精细)化(?=.)", "", "-化"),
    (r"(?<=.)工作(?=机制)", "", "-工作"),
    (r"(?<=.)行政(?=执法|许可|处罚)", "", "-行政"),
    (r"(?<=..)事项(?=清单)", "", "-事项"),
    (r"(?<=.)专项(?=行动)", "", "-专项"),
    (r"(?<=..)制度(?=改革)", "", "-制度"),
    (r"(?<=..)方式(?=改革)", "", "-方式"),
    (r"(?<=..)综合(?=改革)", "", "-综合"),
    (r"(?<=预算)管理(?=改革)", "", "-管理"),
    (r"(?<=财税金融)体制(?=改革)", "", "-体制"),
    (r"(?<=医疗)服务(?=价格)", "", "-服务"),
    (r"国有企业(?=改革)", "国企", "国有企业→国企"),
    (r"食品药品(?=监管)", "食药", "食品药品→食药"),
    (r"(?<=医保)基金(?=监管)", "", "-基金"),
    (r"(?<=包容)审慎(?=监管)", "", "-审慎"),
    (r"(?<=跨部门)综合(?=监管)", "", "-综合"),
    (r"(?<=穿透)式(?=监管)", "", "-式"),
    (r"(?<=家庭医生)签约(?=服务)", "", "-签约"),
    (r"(?<=社区)居家(?=养老)", "", "-居家"),
    (r"(?<=社保卡)居民(?=服务)", "", "-居民"),
    (r"(?<=基层中医)药(?=服务)", "", "-药"),
    (r"(?<=心理)健康(?=服务)", "", "-健康"),
    (r"(?<=..)一体化(?=服务)", "", "-一体化"),
    (r"(?<=一窗受理)集成(?=服务)", "", "-集成"),
    (r"(?<=殡葬)服务(?=制度)", "", "-服务"),
    (r"(?<=健康)促进(?=行动)", "", "-促进"),
    (r"(?<=湿地)保护(?=修复)", "", "-保护"),
    (r"(?<=预警)响应(?=机制)", "", "-响应"),
    (r"(?<=工商)业(?=电价)", "", "-业"),
    (r"(?<=电厂)管理(?=平台)", "", "-管理"),
    (r"(?<=中试)熟化(?=平台)", "", "-熟化"),
    (r"(?<=纠纷)多元(?=化解)", "", "-多元"),
    (r"(?<=决定)法制(?=审核)", "", "-法制"),
    (r"(?<=重大)执法(?=决定)", "", "-执法"),
    (r"(?<=全市)域(?=通办)", "", "-域"),
    (r"(?<=拿地)即(?=开工)", "", "-即"),
    (r"(?<=财政)科学(?=管理)", "", "-科学"),
    (r"(?<=三资)管理(?=改革)", "", "-管理"),
    (r"(?<=诉求)系统(?=改革)", "", "-系统"),
    (r"外商投资(?=服务)", "外资", "外商投资→外资"),
    (r"(?<=免陪)照(?=护)", "", "-照"),
    (r"(?<=黑土)地(?=保护)", "", "-地"),
    (r"(?<=社会化)大(?=普法)", "", "-大"),
    (r"(?<=民主法治)示范(?=村)", "", "-示范"),
]


def edits(docs: list[Doc], p: Practice, rules, extra=()) -> list[tuple[str, list[str], str]]:
    found = list(extra)
    for pat, rep, rule in rules:
        for m in re.finditer(pat, p.name):
            found.append((p.name[: m.start()] + m.expand(rep) + p.name[m.end():], rule))
    out: list[tuple[str, list[str], str]] = []
    for form, rule in found:
        if form != p.name and subset_ok(docs, p, form) and form not in {f for f, _, _ in out}:
            out.append((form, verbs_of(p.name), rule))
    return out


def inserts(docs: list[Doc], p: Practice) -> list[tuple[str, list[str], str]]:
    return edits(docs, p, INSERTS, head_inserts(p.name))


def drops(docs: list[Doc], p: Practice) -> list[tuple[str, list[str], str]]:
    return edits(docs, p, DROPS)


# ---------------------------------------------------------------------------------------------
# picking questions


def join_pairs(practices: list[Practice]) -> list[tuple[Practice, Practice, str]]:
    """Pairs asked about together: a verb fits both, and at least one region states both."""
    out = []
    for i, a in enumerate(practices):
        for b in practices[i + 1:]:
            if (a.name in b.name or b.name in a.name or klass(a.name) != klass(b.name)
                    or not set(a.regions) & set(b.regions)):
                continue
            shared = [v for v in verbs_of(a.name) if v in verbs_of(b.name)]
            if shared:
                out.append((a, b, shared[0]))
    return out


def variants(docs: list[Doc], practices: list[Practice]) -> dict[str, list[Variant]]:
    out: dict[str, list[Variant]] = {k: [] for k in PER_KIND}
    for p in practices:
        out["scaffold"].append(Variant("scaffold", p, p.name, verbs_of(p.name), "scaffold"))
        for kind, found in (("modifier", modifiers(docs, p)), ("suffix", suffixes(docs, p)),
                            ("insert", inserts(docs, p)), ("drop", drops(docs, p))):
            out[kind] += [Variant(kind, p, x, vs, rule) for x, vs, rule in found]
    for a, b, verb in join_pairs(practices):
        out["join"].append(Variant("join", a, f"{a.name}和{b.name}", [verb], "A和B", b))
        out["join"].append(Variant("join", a, f"{a.name}、{b.name}", [verb], "A、B", b))
    return out


FAMILY = {"S1": "which", "S2": "which", "S3": "which"}  # asking again, use another form of question
WEIGHTS = {"S1": 4, "S2": 1, "S3": 1, "S4": 1, "S5": 1, "S6": 1, "S7": 1, "S8": 1}
JOIN_SCAFFOLD = "哪些地区同时{v}{x}"


def expected(v: Variant) -> list[str]:
    if v.other is None:
        return v.practice.regions
    return [r for r in v.practice.regions if r in v.other.regions]


def phrase(v: Variant, rng: random.Random, used: set[str]) -> tuple[str, str] | None:
    """(scaffold id, question) for a variant, avoiding scaffolds it was already asked with."""
    cls = klass(v.practice.name)
    ids = [s for s in SCAFFOLDS if not (v.kind == "scaffold" and s == "S1")]
    if v.kind == "join":
        ids = [s for s in ids if s != "S6"] + ["S8"]
    options = []
    for sid in ids:
        verbs = [verb for verb in v.verbs if sid == "S8" or scaffold_ok(sid, v.x, cls, expected(v), verb, v.kind)]
        if verbs and FAMILY.get(sid, sid) not in used:
            options.append((sid, verbs))
    if not options:
        return None
    sid, verbs = rng.choices(options, weights=[WEIGHTS[s] for s, _ in options])[0]
    verb = rng.choice(verbs)
    return sid, (JOIN_SCAFFOLD.format(v=verb, x=v.x) if sid == "S8" else render_q(sid, verb, v.x))


def pick(kind: str, cands: list[Variant], n: int, rng: random.Random, taken: set[str]) -> list[tuple[Variant, str]]:
    """Round-robin over practices (shuffled), each round one more variant per practice, so the
    set spreads over as many practices as it can; a variant asked twice gets another scaffold."""
    groups: dict[str, list[Variant]] = defaultdict(list)
    for v in cands:
        key = v.practice.name if v.other is None else min(v.practice.name, v.other.name)
        groups[key].append(v)
    keys = sorted(groups)
    rng.shuffle(keys)
    for k in keys:
        rng.shuffle(groups[k])
    per_practice: Counter[str] = Counter()
    uses: dict[int, set[str]] = defaultdict(set)
    chosen: list[tuple[Variant, str]] = []
    cap = 2 if kind == "join" else 3
    for rnd in range(cap * 2):
        progressed = False
        for k in keys:
            if len(chosen) >= n:
                return chosen
            if per_practice[k] >= cap:
                continue
            vs = groups[k]
            v = vs[rnd % len(vs)]
            got = phrase(v, rng, uses[id(v)])
            if got is None or got[1] in taken:
                continue
            sid, q = got
            uses[id(v)].add(FAMILY.get(sid, sid))
            taken.add(q)
            per_practice[k] += 1
            chosen.append((v, q))
            progressed = True
        if not progressed:
            break
    return chosen


def relevant_items(v: Variant, wanted: list[str]) -> list[dict]:
    """One document per expected region first (corpus order), then the rest, at most 10."""
    pairs: list[tuple[Doc, str]] = []
    for p in [v.practice] + ([v.other] if v.other else []):
        pairs += [(d, p.name) for d in p.docs if d.label in wanted]
    chosen: list[tuple[Doc, str]] = []
    for region in wanted:
        for name in dict.fromkeys(n for _, n in pairs):
            hit = next((t for t in pairs if t[0].label == region and t[1] == name and t not in chosen), None)
            if hit:
                chosen.append(hit)
    chosen += [t for t in pairs if t not in chosen]
    chosen = sorted(chosen[:MAX_RELEVANT], key=lambda t: (ALL_INDEX[id(t[0])], t[1]))
    return [{"doc": d.key, "contains": d.surface(norm(name))} for d, name in chosen]


ALL_INDEX: dict[int, int] = {}


def build(shared: Path) -> tuple[list[dict], list[Practice]]:
    docs = load_docs(shared)
    ALL_INDEX.clear()
    ALL_INDEX.update({id(d): i for i, d in enumerate(docs)})
    practices = mine(docs)
    rng = random.Random(SEED)
    cands = variants(docs, practices)
    taken: set[str] = set()
    rows: list[dict] = []
    for kind, n in PER_KIND.items():
        picked = pick(kind, cands[kind], n, rng, taken)
        if len(picked) < n:
            raise SystemExit(f"{kind}: only {len(picked)} questions (want {n})")
        for v, q in picked:
            wanted = expected(v)
            row = {"id": f"p{len(rows) + 1:03d}", "kind": "region", "perturbation": kind, "query": q,
                   "practice": v.practice.name}
            if v.other is not None:
                row["practice_2"] = v.other.name
            row["form"] = v.x
            row["rule"] = v.rule
            row["relevant"] = relevant_items(v, wanted)
            row["regions"] = wanted
            if v.other is not None:
                row["regions_any"] = [r for r in dict.fromkeys([d.label for d in docs])
                                      if r in v.practice.regions or r in v.other.regions]
            rows.append(row)
    check(rows, docs)
    return rows, practices


def check(rows: list[dict], docs: list[Doc]) -> None:
    """Every relevant item points at one document that contains it; every question names its form."""
    for r in rows:
        if r["form"] not in r["query"]:
            raise SystemExit(f"{r['id']}: the question does not name {r['form']}")
        if not r["regions"] or len(r["relevant"]) > MAX_RELEVANT:
            raise SystemExit(f"{r['id']}: bad truth")
        for item in r["relevant"]:
            hits = [d for d in docs if item["doc"] in d.key or item["doc"] in d.title]
            if len(hits) != 1 or fold(item["contains"]) not in hits[0].folded:
                raise SystemExit(f"{r['id']}: {item} does not pick out one document containing it")
    if len({r["query"] for r in rows}) != len(rows):
        raise SystemExit("duplicate questions")


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from a fresh build")
    ap.add_argument("--candidates", action="store_true", help="print every mined practice with its regions")
    ap.add_argument("--shared", default=str(SHARED), help="the shared folder (default: ../shared beside the repo)")
    args = ap.parse_args()
    rows, practices = build(Path(args.shared))
    text = render(rows)
    used = Counter(r["practice"] for r in rows) + Counter(r["practice_2"] for r in rows if "practice_2" in r)
    print("practices (name [source, class] xquestions: regions stating it):")
    for p in practices:
        if args.candidates or p.name in used:
            print(f"  {p.name} [{p.source}, {klass(p.name)}] x{used.get(p.name, 0)}: {' '.join(p.regions)}")
    counts = Counter(r["perturbation"] for r in rows)
    print(f"practices: {len(practices)} mined, {len(used)} asked about")
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} questions; per kind: "
          + ", ".join(f"{k} {counts[k]}" for k in PER_KIND))
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is out of date (rerun without --check)", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
