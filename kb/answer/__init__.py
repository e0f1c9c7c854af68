"""Answer — cited answers built from retrieved passages; nothing is generated.

    answers (which regions, compare, figures, similar practices) · figures (numbers stated after an
    indicator) · atlas (regions × practices) · profile (a region's page) · export (tables: CSV, XLSX,
    Markdown).
"""
