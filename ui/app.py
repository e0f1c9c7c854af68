"""kb — the Streamlit page over the knowledge base of rule-of-law reports (法治政府建设年度报告).

    streamlit run ui/app.py            # index: $KB_INDEX, else index/ (the CLI's rule)

Five pages, chosen at the top (reachable on a phone, where the sidebar folds away):

- 检索问答: one box for queries and questions; the answer card (regions, figures, comparisons),
  then the passages. Every quote and passage opens its report at that spot.
- 文档: every report with its derived metadata; the report view (section tree, the passage one
  came for marked), where metadata is corrected and documents deleted.
- 实践图谱: regions × practices, each cell opening onto its quotes.
- 地区: one region's reports by year, the practices it names, its figures over the years.
- 导入: upload reports; outcomes in Chinese; the new documents' metadata at once.

The view (page, query, mode, filters, document, passage …) lives in the URL (`urlstate.py`):
a reload or a shared link shows the same thing. All computation lives in the `kb` library; the
modules in `views/` lay it out, `render.py` turns its objects into escaped HTML.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

# A query server: every parallel library runs one thread per query (kb/threads.py: on a busy
# machine a spinning second thread made a query 50× slower, and its spinning counts against the
# query's work deadline). Set before the index and the embedder load; KB_EMBED_THREADS wins.
if "KB_EMBED_THREADS" not in os.environ:  # streamlit reruns this per interaction: the process is set
    # once, then each run binds only its own script thread
    from kb.settings import settings as _settings
    from kb.threads import query_process_once

    query_process_once(_settings().query.embed_threads)

import loaded as L  # noqa: E402
import render as r  # noqa: E402
import streamlit as st  # noqa: E402
import urlstate as u  # noqa: E402
from views import atlas, documents, ingest, region, search, sidebar  # noqa: E402


def no_index_message(path: Path) -> None:
    st.warning(r.md_escape(f"在 {path} 没有找到索引。") + " 先用命令行建立索引（或在 **导入** 页上传报告）：")
    st.code(f"python -m kb.cli ingest data/samples --index {path}\n# 或者指定别的目录：KB_INDEX=/path/to/index streamlit run ui/app.py",
            language="bash")


def main() -> None:
    st.set_page_config(page_title="法治政府报告知识库", page_icon="⚖️", layout="wide")
    st.html(r.CSS)
    u.load()
    page = u.bound("page", st.segmented_control, st.session_state.get("page") or "search", lambda v: v or "search",
                   label="页面", options=list(u.PAGES), format_func=u.PAGES.get, required=True,
                   label_visibility="collapsed")
    cur = L.current()
    if cur.loaded is None and page != "ingest":
        no_index_message(cur.path)
    elif page == "ingest":
        ingest.page(cur.path)
    else:
        docs = L.documents_frame(cur.state, cur.kb)
        sidebar.settings(page)
        filters = sidebar.filters(docs)
        if page == "search":
            search.page(cur, filters)
        elif page == "docs":
            documents.page(cur, docs, filters)
        elif page == "atlas":
            atlas.page(cur, filters)
        elif page == "region":
            region.page(cur)
    sidebar.status(cur)
    u.sync()


main()
