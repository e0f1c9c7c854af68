"""Ingest — the first stages of the pipeline: files → text → metadata → passages.

    walk (which files) → load (read one file; decode: bytes → text; one loader per format: loaders/;
    a bad input is a problems.LoadError value) → normalise (scrape noise out,
    header fields read) → metadata (title, type, years; places and region for where a report is
    about) → chunk (section-aware passages) → pipeline (dedup, plan, hand to the index's writer).

Nothing is imported here, so `import kb.ingest.chunk` loads only what chunking needs.
"""
