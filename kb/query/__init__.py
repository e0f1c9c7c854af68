"""Query — from a question to ranked passages.

    question (intent, filters, the practice resolved against the corpus) → search (filters, the
    BM25 and dense legs) → fusion (reciprocal-rank fusion of the legs).
"""
