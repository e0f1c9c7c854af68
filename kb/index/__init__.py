"""Index — what a committed index is made of, and its one writer.

    store (SQLite: documents, passages, embedding cache, manifest) · tokenize (jieba + lexicon) ·
    bm25 (bm25s) · dense (FAISS) · phrases (FTS5 trigram phrase index) · segment (the files of one
    build and the manifest that stamps them) · indexer (ingest/embed/reindex ending in one atomic
    switch) · lock (one writer per index) · check (`kb check`).
"""
