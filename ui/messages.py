"""Chinese for what the library says in English (ingest reasons, errors): the page speaks one language.

The library's reasons are one-line English messages meant for the CLI and logs. Each pattern here
maps one of them to Chinese, keeping the specifics it carries (sizes, error names, file types).
A reason no pattern knows is still shown — as 其他原因 with the original text — so a new message
in the library is never hidden, only untranslated until a pattern is added here.
"""

from __future__ import annotations

import re

# (pattern on the English reason, Chinese template; {0}, {1}… are the pattern's groups)
_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.I), t) for p, t in [
    (r"^(\d+) chunks?$", "{0} 个段落"),
    (r"^file unchanged$", "文件没有变化，已跳过"),
    (r"^empty document$", "空文档：文件里没有文字"),
    (r"^no passages found in the document$", "文档中没有可检索的段落"),
    (r"^no text left after removing page chrome$", "去掉网页导航、页眉页脚后没有剩下正文"),
    (r"^binary data \((.+) file\), not text$", "这是 {0} 二进制文件，不是文本"),
    (r"^binary data(?:, not text| or unknown text encoding)$", "二进制数据或无法识别的文字编码，不是文本"),
    (r"^encrypted PDF", "PDF 已加密（需要密码），无法读取"),
    (r"^no text layer", "PDF 没有文字层（可能是扫描件）；本系统不做 OCR，请先做文字识别（例如 ocrmypdf）"),
    (r"^truncated PDF", "PDF 文件不完整（缺少结束标记）；已读出的文字已导入"),
    (r"^unreadable PDF \(([^:)]+)", "PDF 文件损坏，无法读取（{0}）"),
    (r"^unreadable DOCX \(([^:)]+)", "Word 文件损坏，无法读取（{0}）"),
    (r"^unreadable HTML \(([^:)]+)", "网页文件无法解析（{0}）"),
    (r"^file too large \(([^;]+); limit ([\d.]+) MB", "文件过大（{0}，上限 {1} MB）"),
    # limits on what a file expands to (kb/limits.py): "…(limit X; how to raise it)"
    (r"^file too large: ([^(]+?) \(limit ([\d.]+) MB", "文件过大（{0}，上限 {1} MB）"),
    (r"expands to more than ([\d.]+) MB uncompressed", "解压后超过 {0} MB（疑似压缩炸弹），未导入"),
    (r"^more than ([\d,]+) elements in (\S+)", "{1} 中的元素超过 {0} 个，未导入"),
    (r"nested more than (\d+) levels deep", "嵌套超过 {0} 层，未导入"),
    (r"^text of ([\d,]+) characters \(limit ([\d,]+)", "文字共 {0} 字，超过上限 {1} 字，未导入"),
    (r"^splits into ([\d,]+) passages \(limit ([\d,]+)", "切分出 {0} 个段落，超过上限 {1} 个，未导入"),
    (r"^([\d,]+) new passages to embed, over what is left of this upload's budget \(([\d,]+) of ([\d,]*\d),",
     "需要嵌入 {0} 个新段落，超出本次导入剩余的额度（{1}/{2}）；请单独上传，或用命令行 kb ingest 导入"),
    (r"^cannot save the upload", "无法保存上传的文件"),
    (r"^unsupported file type '?([^';]*)'?", "不支持的文件类型 {0}"),
    (r"^malformed JSON", "JSON 格式错误"),
    (r"^not a JSON object$", "这一行不是 JSON 对象"),
    (r"^no 'content' or 'text' field$", "缺少 content 或 text 字段"),
    (r"^invalid (\S+) despite its byte-order mark$", "文件带有 {0} 字节顺序标记，但内容不是有效的 {0}"),
    (r"^(\d+) undecodable byte sequence", "有 {0} 处无法解码的字节，已替换为 �；其余文字已导入"),
    (r"same text as (.+?)(?:; indexed once)?$", "与 {0} 内容相同，只索引一次"),
    (r"^cannot read: (.+)$", "无法读取文件（{0}）"),
    (r"^no such file or directory$", "文件不存在"),
    (r"^broken symlink", "符号链接指向的文件不存在"),
    (r"^symlink loop", "符号链接循环，已跳过"),
]]


def reason_zh(reason: str) -> str:
    """A library reason in Chinese; unknown ones keep their text after 其他原因."""
    reason = reason.strip()
    for pattern, template in _REASONS:
        m = pattern.search(reason)
        if m:
            return template.format(*(g.strip() if g else "" for g in m.groups()))
    return f"其他原因：{reason}" if reason else ""


def error_zh(error: BaseException) -> str:
    """An exception the page shows (an unusable index, a busy writer) as one Chinese line."""
    text = str(error)
    if "no kb index here" in text:
        return "这里还没有索引"
    if "another kb process is writing" in text:
        return "另一个进程正在写入索引，请稍后再试"
    if "embedder" in text and "not" in text:
        return f"索引使用的嵌入模型与当前不一致（{text}）"
    if "kb reindex" in text or "kb check" in text:
        return f"索引文件损坏或不完整，请运行 kb check 检查、kb reindex 修复（{text}）"
    return f"{type(error).__name__}：{text}"
