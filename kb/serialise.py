"""The JSON objects kb prints and serves: one serialiser for `--json` and the HTTP API.

Why one: a second serialiser drifts — a field added for the CLI would be missing from the API, or
named differently. Every `--json` output of the CLI and every read endpoint of the API is built here
(from the models' own `to_dict` where they have one), so `kb search Q --json` and `GET /search?q=Q`
print the same object, field for field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict

from kb.answer.answers import Answer, SimilarPractices, weak_notice
from kb.answer.atlas import Atlas
from kb.answer.profile import RegionProfile
from kb.models import Chunk, Document, Hit


def search(query: str, hits: Sequence[Hit], took_ms: float) -> dict:
    """One query's passages (`kb search --json`, `GET /search`); the notice says what the work budget
    cut (query/budget.py) and whether the hits hold none of the query's words."""
    notice = " ".join(filter(None, (getattr(hits, "notice", None), weak_notice(list(hits))))) or None
    return {"query": query, "took_ms": round(took_ms, 1), "notice": notice, "hits": [h.to_dict() for h in hits]}


def answer(a: Answer) -> dict:
    """An answer with its citations (`kb ask --json`, `GET /ask`)."""
    return a.to_dict()


def similar(chunk_id: int, result: SimilarPractices) -> dict:
    """Passages from other regions like one passage (`kb similar --json`, `GET /similar/{id}`)."""
    items = getattr(result, "items", ())  # answer/similar.py: each hit with its quote and how it is similar
    return {"chunk_id": chunk_id, "practice": result.practice, "definition": getattr(result, "definition", None),
            "hits": [it.to_dict() for it in items] if items else [h.to_dict() for h in result.hits]}


def document(doc: Document) -> dict:
    """A document's metadata (`kb docs --json`, one a line; `GET /documents`)."""
    return doc.to_dict()


def document_tree(doc: Document, chunks: Iterable[Chunk], preview: int = 40) -> dict:
    """A document with its section tree (`kb show --json`, `GET /documents/{id}`): each section its
    heading, its passages (id, span and the first `preview` characters) and its subsections."""
    root: dict = {"heading": None, "chunks": [], "sections": []}
    for c in chunks:
        node = root
        for heading in c.section:
            if not node["sections"] or node["sections"][-1]["heading"] != heading:
                node["sections"].append({"heading": heading, "chunks": [], "sections": []})
            node = node["sections"][-1]
        text = c.text.replace("\n", " ")
        node["chunks"].append({"chunk_id": c.chunk_id, "ordinal": c.ordinal, "start": c.start, "end": c.end,
                               "preview": text[:preview] + ("…" if len(text) > preview else "")})
    return {"document": doc.to_dict(), "chunks": root["chunks"], "sections": root["sections"]}


def chunk(c: Chunk, doc: Document | None) -> dict:
    """One passage with its span in its document (`kb chunk --json`, `GET /chunks/{id}`)."""
    m = doc.meta if doc else None
    return {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "ordinal": c.ordinal, "section": list(c.section),
            "start": c.start, "end": c.end, "text": c.text,
            "title": m.title if m else None, "source": doc.source if doc else None,
            "region": m.region if m else None, "province": m.province if m else None,
            "year": m.year if m else None}


def atlas(a: Atlas) -> dict:
    """Regions × practices (`kb atlas --json`, `GET /atlas`): each cell the passages stating it."""
    return {
        "practices": list(a.practices),
        "regions": [{"region": r.region, "province": r.province, "level": r.level, "years": list(r.years)}
                    for r in a.regions],
        "cells": [{"region": region, "practice": practice, "count": len(ids), "chunk_ids": list(ids)}
                  for (region, practice), ids in a.cells.items()],
    }


def region_profile(p: RegionProfile) -> dict:
    """A region's page (`kb region NAME --json`, `GET /regions/{name}`)."""
    return {
        "region": p.region, "province": p.province, "city": p.city, "level": p.level, "years": list(p.years),
        "documents": [d.to_dict() for d in p.documents],
        "practices": [{"practice": x.practice, "passages": x.passages, "years": list(x.years),
                       "citation": asdict(x.citation)} for x in p.practices],
        "figures": [asdict(f) for f in p.figures],
        "series": {name: [{"year": y, "value": v, "written": raw} for y, v, raw in points]
                   for name, points in p.series().items()},
    }


def ingest(report, status: Mapping, documents: Iterable[Document] = ()) -> dict:
    """What an ingest did (`POST /ingest`): the counts, one line per problem, the index after it."""
    return {
        "summary": report.summary(),
        "exit_code": report.exit_code,
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
        "failed": list(report.failed), "warnings": list(report.warnings), "skipped": list(report.skipped),
        "documents": [d.to_dict() for d in documents],
        "status": dict(status),
    }
