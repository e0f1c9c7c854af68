"""The API's writes run in a writer process of their own, at a lower CPU priority.

Why a process: the server's query threads are single-threaded by design (kb/threads.py), and a
write embeds passages for minutes with every core. In the same process the two would share the
embedding engine (a query waiting behind a batch of 32 passages) and the OpenMP settings; in a
process of its own, at nice 10 like `kb ingest`, the write takes the CPU the queries leave and the
server keeps answering from the last committed index until the write's switch commits.

One write at a time (one worker process; the index's write lock serialises writers of other
processes too). A user error comes back as the same code, status and message it had here.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from kb.errors import KbError


class WriterError(KbError):
    """A KbError raised in the writer process, carried back with its code, status, title and message."""

    def __init__(self, code: str, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.title = code, status, title

    def __reduce__(self):
        return (type(self), (self.code, self.status, self.title, str(self)))


def _start(nice: int, threads: int) -> None:
    """In the writer process, before anything loads: its own thread counts and a lower priority."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.pop(var, None)  # inherited from the query server (1): the writer uses its own
    if threads:
        os.environ["KB_EMBED_THREADS"] = str(threads)
    if nice > 0:
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - not permitted here
            pass


def _carry(fn, *args):
    try:
        return fn(*args)
    except KbError as e:
        raise WriterError(e.code, e.status, e.title, str(e)) from None


def _ingest(index: str, files: list[tuple[str, bytes]]) -> dict:
    from kb import serialise
    from kb.ingest.uploads import Upload, ingest_uploads

    result = ingest_uploads(Path(index), [Upload(name, data) for name, data in files])
    return serialise.ingest(result.report, result.status, result.documents.values())


def _update(index: str, doc_id: str, changes: dict) -> dict:
    from kb import serialise
    from kb.knowledgebase import KnowledgeBase

    kb = KnowledgeBase.open(Path(index))
    try:
        kb.get_document(doc_id)
        return serialise.document(kb.update_metadata(doc_id, **changes))
    finally:
        kb.close()


def _remove(index: str, doc_id: str) -> dict:
    from kb.knowledgebase import KnowledgeBase

    kb = KnowledgeBase.open(Path(index))
    try:
        doc = kb.get_document(doc_id)
        kb.remove_document(doc_id)
        return {"removed": doc_id, "title": doc.meta.title, "source": doc.source}
    finally:
        kb.close()


class Writer:
    """Runs the writes of one index in one worker process (started on the first write)."""

    def __init__(self, index: Path, nice: int = 10, threads: int = 0) -> None:
        self.index = str(index)
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(nice, threads))

    def ingest(self, files: list[tuple[str, bytes]]):
        return self._pool.submit(_carry, _ingest, self.index, files)

    def update(self, doc_id: str, changes: dict):
        return self._pool.submit(_carry, _update, self.index, doc_id, changes)

    def remove(self, doc_id: str):
        return self._pool.submit(_carry, _remove, self.index, doc_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
