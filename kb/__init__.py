"""kb — a searchable, citable knowledge base over Chinese rule-of-law reports.

    from kb import KnowledgeBase
    kb = KnowledgeBase.open("index")
    kb.search("综合查一次", k=10)
    kb.ask("哪些地区推行综合查一次")

Nothing heavy is imported here: models and indexes load on first use.
"""

__version__ = "0.2.0"

__all__ = ["KnowledgeBase", "Document", "Chunk", "Hit", "Filters", "__version__"]


def __getattr__(name: str):
    if name == "KnowledgeBase":
        from kb.knowledgebase import KnowledgeBase

        return KnowledgeBase
    if name in ("Document", "Chunk", "Hit", "Filters"):
        from kb import models

        return getattr(models, name)
    raise AttributeError(name)
