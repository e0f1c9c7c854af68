"""Format readers load.py dispatches to: PDF/OFD page furniture, legacy Word/WPS, spreadsheets."""
