"""Download buttons: CSV (BOM), XLSX and Markdown, named after the question and the date."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from kb.answer.export import Table, csv_text, export_filename, xlsx_bytes


def downloads(key: str, subject: str, what: str, tables: Sequence[Table], markdown: str) -> None:
    row = st.container(horizontal=True, key=f"downloads-{key}")
    c1 = c2 = c3 = row
    c1.download_button("CSV", csv_text(tables[0]).encode("utf-8"), file_name=export_filename(subject, what, "csv"),
                       mime="text/csv", key=f"dl-{key}-csv", on_click="ignore", icon=":material/download:",
                       help=f"下载{what}（CSV，Excel 可直接打开）")
    c2.download_button("Excel", xlsx_bytes(tables), file_name=export_filename(subject, what, "xlsx"),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"dl-{key}-xlsx", on_click="ignore", icon=":material/download:", help=f"下载{what}（XLSX）")
    c3.download_button("Markdown", markdown.encode("utf-8"), file_name=export_filename(subject, what, "md"),
                       mime="text/markdown", key=f"dl-{key}-md", on_click="ignore", icon=":material/download:",
                       help=f"下载{what}（Markdown 引文）")
