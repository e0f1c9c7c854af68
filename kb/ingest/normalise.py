"""Text normalisation: the search form of text (`fold`) and scrape-noise removal (`clean`).

`fold` is what indexing and queries see, so 營商環境 and 营商环境, ２０２０ and 2020 meet. It keeps
length and position (fold(t)[i] stands for t[i]) so spans found in folded text map straight back
onto the original for highlighting and citations.

`clean` removes portal chrome (table pipes, breadcrumbs, share/font-size bars, QR and exit prompts,
header field rows) from scraped pages while leaving body text verbatim and in its original script.
All patterns are written in Simplified Chinese and matched against `fold`ed text, so they also
match Traditional pages (掃一掃, 已歸檔, 公開日期 …) and full-width punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from kb.models import CleanText

# ---------------------------------------------------------------------------------------------
# fold

_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20


@lru_cache(maxsize=1)
def _t2s():
    """The OpenCC converter, built on first use: importing kb must stay cheap."""
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    """t2s that never changes length: a phrase rule that would is undone char by char."""
    convert = _t2s().convert
    out = convert(text)
    if len(out) == len(text):
        return out
    lines = text.split("\n")
    fixed = []
    for line in lines:
        conv = convert(line)
        if len(conv) != len(line):
            conv = "".join(c2 if len(c2 := convert(ch)) == 1 else ch for ch in line)
        fixed.append(conv)
    return "\n".join(fixed)


def fold(text: str) -> str:
    """Search form: Traditional→Simplified and full-width ASCII→half-width, same length as `text`.

    Chinese punctuation (,。、“”) is left alone; only U+FF01–FF5E and the ideographic space fold.
    """
    if not text:
        return text
    return _to_simplified(text).translate(_WIDTH)


# ---------------------------------------------------------------------------------------------
# noise patterns (Simplified, half-width: they run on folded text)

# Whole prompts that can sit inline, e.g. glued to the end of a one-line scrape.
_INLINE_NOISE = re.compile(
    r"扫一扫在手机(?:上)?(?:打开|浏览|查看|阅读)(?:当前页|本页|此页|当前页面)?"
    r"|(?:用)?手机扫(?:一扫|描二维码)(?:打开|浏览|查看|阅读|分享)?(?:当前页|本页|此页)?"
    r"|您(?:访问|即将访问|点击)的链接即将离开[“\"'「]?[^”\"'」\n]{1,30}[”\"'」]?(?:门户)?网站"
    r"[ \t]*[,,。]?[ \t]*是否继续[??]?"
    r"|(?:您)?即将离开本(?:站|网站)[^\n]{0,30}?是否继续[??]?"
)

_LOCATION_PREFIX = re.compile(r"^(?:当前位置|您的位置|您现在的位置|您当前的位置|您当前所在位置|所在位置)\s*:?")
_CRUMB_SPLIT = re.compile(r"\s*(?:>>|»|›|>|>|→)\s*")
_HOME = {"首页", "网站首页", "主页", "本站首页", "门户首页"}

# A share/font-size/print bar is nothing but these words (and brackets/separators).
_CHROME_WORDS = {
    "分享", "分享到", "分享至", "分享本文", "字号", "字体", "字体大小", "默认", "打印", "打印本页", "打印此页",
    "打印文章", "打印本文", "关闭", "关闭窗口", "关闭本页", "关闭页面", "收藏", "加入收藏", "收藏本页", "返回",
    "返回顶部", "返回首页", "顶部", "纠错", "我要纠错", "微信", "微博", "新浪微博", "腾讯微博", "qq空间", "qq",
    "朋友圈", "豆瓣", "扫一扫", "复制链接", "保存", "首页", "视力保护色", "背景色", "无障碍", "长者模式",
    "繁体", "简体", "繁体版", "简体版", "阅读次数", "浏览次数", "打印页面", "小字", "大字", "中字",
    "下载", "全屏", "加大", "还原", "减小", "放大", "缩小", "分享到微信", "分享到微博", "分享到qq", "×", "x",
    "收藏本文", "字号大小",
}  # fmt: skip
_WEAK_CHROME = {"大", "中", "小", "简", "繁", "默认", "返回", "保存", "顶部", "微信", "微博", "qq"}
_CHROME_SPLIT = re.compile(r"[\s::【】\[\]()()|/·•,,、<>《》]+")

_LINE_NOISE = re.compile(
    r"(?:此(?:信息|页面|文件|文章)|该(?:信息|页面|文件|文章))?已归档"
    r"|(?:上一篇|下一篇|上一条|下一条|上一页|下一页)\s*[::].{0,80}"
    r"|(?:相关链接|相关文章|相关阅读|相关新闻|相关文件|相关稿件|相关报道|相关文档|相关附件|相关专题)\s*(?:[::]|>>)?"
    r"|[》>]*\s*点击(?:图片)?进入专题\s*[《<]*"
    r"|[^\n]{0,80}(?:记者|通讯员|摄影)[ \u4e00-\u9fff·]{1,14}摄"  # a photo's caption and credit
    r"|是否继续[??]?|(?:继续访问|放弃)(?:\s+(?:继续访问|放弃))*"
)
# Copyright/licence lines; a sentence that merely mentions 版权 is not one.
_COPYRIGHT = re.compile(r"[^。;;!!??]{0,60}(?:版权所有|ICP备|公网安备|网站标识码|Copyright|©)[^。;;!!??]{0,80}", re.IGNORECASE)
# Footer lines too generic to drop anywhere but at the very end of a page.
_FOOTER_NOISE = re.compile(
    r"(?:主办单位|承办单位|主办|承办|协办单位|技术支持|运维单位|维护单位|网站地图|联系我们|网站声明|隐私声明|编辑)"
    r"(?:\s*[::|].{0,80})?"
    r"|[(（]\s*来源\s*[::][^)）]{1,40}[)）]"
)
# Whole lines that open what a portal appends after an article (related links, the editor, the QR
# prompt): in the last fifth of a page, everything from such a line on is the portal's, not the report's.
_TRAILER = re.compile(
    r"(?:相关链接|相关文章|相关阅读|相关新闻|相关文件|相关稿件|相关报道|相关文档|相关附件|相关专题|责任编辑|扫一扫在手机打开当前页)"
    r"\s*(?:[::]|>>)?.{0,20}"
)
_SHORT_LINE = 10  # characters: the pieces of a share/font-size bar spread one per line
_CRUMB_MAX = 150  # characters of a breadcrumb trail at most
_CHROME_SPAN = _CRUMB_MAX + 10  # characters of a run of short lines that can decide it is chrome

# ---------------------------------------------------------------------------------------------
# header fields

_LABELS = (
    "索引号", "信息索引号", "索引", "主题分类", "体裁分类", "组配分类", "服务对象分类", "信息分类", "信息类别",
    "发文机关", "发文机构", "发布机构", "发布单位", "发文单位", "公开主体", "信息公开主体", "生成机构",
    "所属机构", "责任部门", "文号", "发文字号", "文件编号", "成文日期", "发文日期", "发布日期", "公开日期",
    "生成日期", "生效日期", "废止日期", "实施日期", "印发日期", "日期", "发布时间", "发表时间", "时间", "更新时间", "来源",
    "信息来源", "文章来源", "公开方式", "公开形式", "公开范围", "公开时限", "有效性", "时效性", "效力状态",
    "主题词", "关键词", "标题", "信息名称", "文件名称", "作者", "责任编辑", "浏览次数", "浏览量", "点击数",
    "点击量", "访问量", "阅读量", "阅读次数",
)  # fmt: skip
# Labels may be letter-spaced (来  源:); longest first so 发布日期 wins over 日期.
_LABEL_RE = re.compile(
    r"(?<![^\s|])("
    + "|".join(r"[ \u3000]*".join(map(re.escape, label)) for label in sorted(_LABELS, key=len, reverse=True))
    + r")[ \u3000]*:"
)
_PLACEHOLDERS = {"无", "暂无", "-", "--", "—", "/", "null", "none", "空", "未知"}

# ---------------------------------------------------------------------------------------------
# title and body shape

_TITLE_WORDS = re.compile(
    r"报告|情况|答复|复函|回复|函$|通知|意见|决定|决议|总结|方案|规划|要点|公告|通报|办法|计划|纲要|工作|建设|批复|说明|讲话|白皮书|年报"
)
# headings as folded text shows them (full-width brackets and dots are already ASCII)
_ENUMERATOR = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.]|\([一二三四五六七八九十\d]+\)|\d+[、.]|第[一二三四五六七八九十\d]+[章节条部分])"
)
_DATE_ONLY = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_SENTENCE_END = re.compile(r"[。;;!!??]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_RULE_CELL = re.compile(r":?-{2,}:?")
_SPACES = re.compile(r"[ \u3000]{2,}")
_BLANKS = re.compile(r"\n{3,}")
_MAX_HEADER_EXTRAS = 6


def _crumb_start(s: str) -> bool:
    """Does the text start as a breadcrumb trail does (当前位置…, '>> a')? Decides a long run alone."""
    return bool(_LOCATION_PREFIX.match(s)) or s.startswith((">>", "»", "›"))


def _is_crumb(s: str) -> bool:
    """Breadcrumb trails: 当前位置…, '>> a >> b', '首页 > a > b'."""
    if _crumb_start(s):
        return True
    if len(s) > _CRUMB_MAX or _SENTENCE_END.search(s):
        return False
    parts = [p for p in _CRUMB_SPLIT.split(s) if p]
    if len(parts) < 2 or any(len(p) > 30 for p in parts):
        return False
    return parts[0] in _HOME or bool(re.search(r">>|»|›", s))


def _is_chrome_bar(s: str) -> bool:
    """A share/font-size/print bar: only chrome words, at least one of them unambiguous."""
    if len(s) > 80:
        return False
    words = [w.lower() for w in _CHROME_SPLIT.split(s) if w]
    if not words or any(w not in _CHROME_WORDS and w not in _WEAK_CHROME for w in words):
        return False
    return any(w not in _WEAK_CHROME for w in words)


def _is_noise(s: str) -> bool:
    """True if a folded, stripped line or cell is page chrome wherever it appears."""
    if not s or len(s) > 200:
        return False
    return _is_crumb(s) or _is_chrome_bar(s) or bool(_LINE_NOISE.fullmatch(s) or _COPYRIGHT.fullmatch(s))


def _is_footer_noise(s: str) -> bool:
    return _is_noise(s) or bool(_FOOTER_NOISE.fullmatch(s))


def looks_like_title(s: str) -> bool:
    """A short heading line naming the document (关于…的报告, …年度法治政府建设工作情况); `s` folded."""
    if not 5 <= len(s) <= 80 or s[-1] in "。,,;;::!!??、":
        return False
    if _ENUMERATOR.match(s) or _DATE_ONLY.fullmatch(s) or _LABEL_RE.match(s):
        return False
    return len(_CJK.findall(s)) >= 4 and bool(_TITLE_WORDS.search(s))


def _looks_like_body(s: str) -> bool:
    """Prose or a section heading: where the page header has certainly ended."""
    return len(s) > 60 or bool(_SENTENCE_END.search(s)) or s[-1] in ",,::" or bool(_ENUMERATOR.match(s))


# ---------------------------------------------------------------------------------------------
# cells


@dataclass
class _Cell:
    text: str  # original script, whitespace tidied
    folded: str

    @classmethod
    def of(cls, text: str) -> _Cell:
        text = _SPACES.sub(" ", text.strip())
        return cls(text, fold(text))


def _cells(line: str) -> list[_Cell]:
    """A line as table cells: portal exports wrap header rows and even body text in pipes."""
    if "|" not in line:
        return [_Cell.of(line)] if line.strip() else []
    parts = (p.strip() for p in line.split("|"))
    return [_Cell.of(p) for p in parts if p and not _RULE_CELL.fullmatch(p)]


def _field_pairs(cell: _Cell) -> list[tuple[str, str]] | None:
    """label→value pairs if the cell starts with a known header label, else None."""
    matches = list(_LABEL_RE.finditer(cell.folded))
    if not matches or cell.folded[: matches[0].start()].strip():
        return None
    pairs = []
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        label = re.sub(r"\s+", "", cell.text[m.start(1) : m.end(1)])
        value = cell.text[m.end() : nxt.start() if nxt else len(cell.text)].strip(" \t|")
        pairs.append((label, value))
    return pairs


def _store(fields: dict[str, str], label: str, value: str) -> None:
    value = value.strip()
    if value and fold(value).lower() not in _PLACEHOLDERS:
        fields.setdefault(label, value)


def _take_fields(cells: list[_Cell], i: int, pairs: list[tuple[str, str]], fields: dict[str, str]) -> int:
    """Store the field cell at i (and its value cell, for `label: | value` rows); returns next i."""
    for label, value in pairs[:-1]:
        _store(fields, label, value)
    label, value = pairs[-1]
    i += 1
    if not value and i < len(cells) and _field_pairs(cells[i]) is None and not _is_noise(cells[i].folded):
        value = cells[i].text
        i += 1
    _store(fields, label, value)
    return i


# ---------------------------------------------------------------------------------------------
# clean


@dataclass
class _Header:
    lines: list[str] = field(default_factory=list)
    title: str | None = None
    extras: int = 0


def _cut_inline(line: str, folded: str) -> str | None:
    """The line without inline prompts (matched on its folded form); None if nothing else was on it."""
    pieces, last = [], 0
    for m in _INLINE_NOISE.finditer(folded):
        pieces.append(line[last : m.start()])
        last = m.end()
    if not pieces:
        return line
    pieces.append(line[last:])
    kept = "".join(pieces)
    return kept if kept.strip() else None


def _prepare(raw: str) -> list[str]:
    """Lines with uniform newlines, no BOM/zero-width/nbsp, and inline prompts cut out."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[\ufeff\u200b\u200c\u200d\u2060]", "", text)
    pairs = zip(text.split("\n"), fold(text).split("\n"), strict=True)  # fold keeps length, so lines align
    return [kept for line, folded in pairs if (kept := _cut_inline(line, folded)) is not None]


def _drop_chrome_runs(lines: list[str]) -> list[str]:
    """Share/font-size bars and breadcrumbs scraped one piece a line (下载 / 打印 / 【字号： / 加大 / 】,
    您的位置: / 首页 / > / 要闻): a run of short lines that reads as chrome once joined is dropped.

    Linear in the text: a run joined is at most `_CHROME_SPAN` characters (a bar is at most 80, a
    breadcrumb trail 150), and a longer run is chrome only by how it starts, so only its first lines
    are looked at; each line is folded once. Joining the rest of the run from every line on was
    quadratic: 20k characters of headings (every line short) took 55 s here (issue 19)."""
    n = len(lines)
    stripped = [line.strip() for line in lines]
    short = [0 < len(x) <= _SHORT_LINE for x in stripped]
    run_end = list(range(n + 1))  # for a short line: where its run of short lines ends
    for k in range(n - 1, -1, -1):
        if short[k]:
            run_end[k] = run_end[k + 1]
    offset = [0]  # characters of the stripped lines before each, one space between
    for x in stripped:
        offset.append(offset[-1] + len(x) + 1)
    folded: list[str | None] = [None] * n

    def fold_line(k: int) -> str:
        if folded[k] is None:
            folded[k] = fold(stripped[k])  # fold maps characters; the spaces between lines join nothing
        return folded[k]  # type: ignore[return-value]

    out: list[str] = []
    i = 0
    while i < n:
        end = run_end[i]
        if end - i >= 2:
            if offset[end] - offset[i] - 1 > _CHROME_SPAN:  # too long for a bar or a trail: its start decides
                k, head = i, []
                while k < end and sum(map(len, head)) < 20:
                    head.append(fold_line(k))
                    k += 1
                chrome = _crumb_start(" ".join(head))
            else:
                joined = " ".join(fold_line(k) for k in range(i, end))
                chrome = _is_chrome_bar(joined) or _is_crumb(joined)
            # or a breadcrumb's tail: 您的位置: / 首页 / > / 要闻 / 要闻, then the title
            if chrome or _LOCATION_PREFIX.match(fold_line(i)):
                i = end
                continue
        out.append(lines[i])
        i += 1
    return out


def _join_split_fields(lines: list[str]) -> list[str]:
    """`来源:` on one line and its value on the next (四川日报) → one field line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        folded = fold(line.strip())
        if (i + 1 < len(lines) and _LABEL_RE.fullmatch(folded) and lines[i + 1].strip()
                and len(lines[i + 1].strip()) <= 40 and not _LABEL_RE.match(fold(lines[i + 1].strip()))
                and not _is_noise(fold(lines[i + 1].strip()))):
            out.append(f"{line.strip()} {lines[i + 1].strip()}")
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def _cut_trailer(lines: list[str]) -> list[str]:
    """Drop what a portal appends after the article (see _TRAILER)."""
    if len(lines) < 10:
        return lines
    for i in range(int(len(lines) * 0.8), len(lines)):
        if _TRAILER.fullmatch(fold(lines[i].strip())):
            return lines[:i]
    return lines


def _before_title(lines: list[str], title: str | None, fields: dict[str, str]) -> list[str]:
    """A container that states the title (a spreadsheet column, a page's <title>): what a scrape
    has above the first line that *is* the title is the portal's header — its fields are kept,
    its lines dropped."""
    if not title:
        return lines
    want = re.sub(r"\s+", "", fold(title))
    for t, line in enumerate(lines[:20]):
        if re.sub(r"\s+", "", fold(line.strip().strip("|"))) == want:
            if t:
                for above in lines[:t]:
                    for cell in _cells(above):
                        for label, value in _field_pairs(cell) or []:
                            _store(fields, label, value)
            return lines[t:]
    return lines


def _read_header(lines: list[str], fields: dict[str, str]) -> tuple[_Header, int, list[str]]:
    """Walk the top of the page: chrome, field rows and the title, until body text starts.

    Returns the header, the index of the first body line, and the kept remainder of that line
    (cells after the header ended on the same line).
    """
    head = _Header()
    for n, line in enumerate(lines):
        cells = _cells(line)
        i = 0
        while i < len(cells):
            cell = cells[i]
            if _is_footer_noise(cell.folded):
                i += 1
            elif (pairs := _field_pairs(cell)) is not None:
                i = _take_fields(cells, i, pairs, fields)
            elif not head.lines and looks_like_title(cell.folded):  # only the first kept line: never reorder
                head.title = cell.text
                head.lines.append(cell.text)
                i += 1
            elif len(cells) == 1 and not _looks_like_body(cell.folded) and head.extras < _MAX_HEADER_EXTRAS:
                head.extras += 1
                head.lines.append(cell.text)
                i += 1
            else:
                return head, n, [c.text for c in cells[i:] if not _is_noise(c.folded)]
    return head, len(lines), []


def _read_footer(lines: list[str], stop: int, fields: dict[str, str]) -> int:
    """Walk up from the end over chrome and field rows; returns the end index of the body."""
    end = len(lines)
    while end > stop:
        cells = _cells(lines[end - 1])
        found: dict[str, str] = {}
        i = 0
        while i < len(cells):
            if _is_footer_noise(cells[i].folded):
                i += 1
            elif (pairs := _field_pairs(cells[i])) is not None:
                i = _take_fields(cells, i, pairs, found)
            else:
                return end
        for label, value in found.items():
            fields.setdefault(label, value)
        end -= 1
    return end


def _body_line(line: str) -> str | None:
    """A body line with table pipes turned into tab-separated cells; None if it is chrome."""
    cells = _cells(line)
    if not cells:
        return None if "|" in line else ""  # a row of bare pipes is chrome, not a paragraph break
    if len(cells) > 1 and _is_noise(" ".join(c.folded for c in cells)):
        return None
    kept = [c.text for c in cells if not _is_noise(c.folded)]
    return "\t".join(kept) if kept else None


def _lines_out(head: _Header, first: list[str], body: Iterator[str | None]) -> list[str]:
    out = list(head.lines)
    if first:
        out.append("\t".join(first))
    out.extend(line for line in body if line is not None)
    # a title repeated right below itself (page heading + article heading) is said once
    if head.title is not None:
        while len(out) > 1 and out[1].strip() == head.title:
            del out[1]
        while len(out) > 2 and not out[1].strip() and out[2].strip() == head.title:
            del out[1:3]
    return out


def clean(raw: str, title: str | None = None) -> CleanText:
    """Scrape → noise-free text in its original script, with the page title and header fields.

    Body sentences are never re-flowed or rewritten: only chrome lines/cells are dropped, pipes
    become tab-separated cells, indentation is trimmed and blank-line runs are collapsed. `title`,
    when the container states one, marks where the article starts (see `_before_title`).
    """
    fields: dict[str, str] = {}
    lines = _cut_trailer(_join_split_fields(_drop_chrome_runs(_prepare(raw))))
    lines = _before_title(lines, title, fields)
    head, start, first = _read_header(lines, fields)
    end = _read_footer(lines, start + 1, fields) if start < len(lines) else len(lines)
    body = (_body_line(line) for line in lines[start + 1 : end])
    text = "\n".join(_lines_out(head, first, body))
    text = _BLANKS.sub("\n\n", text).strip()
    return CleanText(text=text, title=head.title, fields=fields)
