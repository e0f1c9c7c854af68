"""The view lives in the URL: page, query, mode, filters, document, passage — reload or share a link
and the same view comes back; links inside the page (a quote → its report) carry it along.

Session state holds the view under plain keys (`page`, `q`, `years` …); each widget has its own
key (`w_page` …) that is refilled from the plain key before the widget is drawn, because Streamlit
forgets a widget's value on a run that does not draw it — that is what emptied the search box and
reset the filters when one came back from another page. `load()` fills the plain keys from the URL
once per session; `sync()` writes them back at the end of every run (only when they changed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import streamlit as st

PAGES = {"search": "检索问答", "docs": "文档", "atlas": "实践图谱", "region": "地区", "ingest": "导入"}
MODES = {"hybrid": "混合（BM25 + 语义）", "bm25": "BM25 关键词", "dense": "语义"}
DEFAULTS: dict[str, Any] = {
    "page": "search", "q": "", "mode": "hybrid", "k": 10, "years": None, "province": None, "region": None,
    "level": None, "type": None, "doc": None, "passage": None, "span": None, "place": None, "practices": (),
    "cell": None, "back": None,
}
FILTER_KEYS = ("years", "province", "region", "level", "type")


# ---- URL text ↔ values ---------------------------------------------------------------------------
def _pair(text: str, sep: str) -> tuple[int, int] | None:
    try:
        a, b = text.split(sep, 1)
        return int(a), int(b)
    except ValueError:
        return None


def parse(params: dict[str, list[str]]) -> dict[str, Any]:
    """Values from query parameters; anything malformed is dropped (the default stays)."""
    out: dict[str, Any] = {}

    def one(key: str) -> str | None:
        values = params.get(key) or []
        return values[-1].strip() if values and values[-1].strip() else None

    if (page := one("page")) in PAGES:
        out["page"] = page
    if (back := one("back")) in PAGES:
        out["back"] = back
    for key in ("q", "province", "region", "level", "type", "doc", "place"):
        if (value := one(key)) is not None:
            out[key] = value[:2000]
    if (mode := one("mode")) in MODES:
        out["mode"] = mode
    if (k := one("k")) and k.isdigit() and 1 <= int(k) <= 50:
        out["k"] = int(k)
    if (years := one("years")) and (pair := _pair(years, "-")):
        out["years"] = (min(pair), max(pair))
    if (passage := one("passage")) and passage.isdigit():
        out["passage"] = int(passage)
    if (span := one("span")) and (pair := _pair(span, "-")) and pair[0] < pair[1]:
        out["span"] = pair
    practices = tuple(dict.fromkeys(p.strip() for p in params.get("practice", []) if p.strip()))
    if practices:
        out["practices"] = practices[:30]
    if (cell := one("cell")) and "|" in cell:
        region, practice = cell.split("|", 1)
        out["cell"] = (region, practice)
    return out


def encode(view: dict[str, Any]) -> dict[str, str | list[str]]:
    """Query parameters for a view; defaults are left out so URLs stay short."""
    out: dict[str, str | list[str]] = {}
    for key, default in DEFAULTS.items():
        value = view.get(key, default)
        if value == default or value in (None, "", ()):
            continue
        if key in ("years", "span"):
            out[key] = f"{value[0]}-{value[1]}"
        elif key == "practices":
            out["practice"] = list(value)
        elif key == "cell":
            out[key] = f"{value[0]}|{value[1]}"
        else:
            out[key] = str(value)
    return out


# ---- session state -------------------------------------------------------------------------------
def load() -> None:
    """Once per session: the view from the URL (a reload, a shared link, a link clicked in the page)."""
    ss = st.session_state
    if ss.get("_url_loaded"):
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    for key, value in {**DEFAULTS, **parse(params)}.items():
        ss[key] = value
    ss["_url_loaded"] = True


def view(**changes: Any) -> dict[str, Any]:
    ss = st.session_state
    return {**{key: ss.get(key, default) for key, default in DEFAULTS.items()}, **changes}


def sync() -> None:
    """Write the current view into the URL (after widgets ran), when it differs from what is there."""
    want = encode(view())
    have = {key: st.query_params.get_all(key) for key in st.query_params}
    norm = {key: value if isinstance(value, list) else [value] for key, value in want.items()}
    if norm != have:
        st.query_params.from_dict(want)


def href(**changes: Any) -> str:
    """A relative link to this view with `changes` (a quote → page=docs, doc=…, passage=…); a link
    into a report remembers the page it came from, for the report view's way back."""
    here = st.session_state.get("page")
    if changes.get("page") == "docs" and changes.get("doc") and here != "docs":
        changes.setdefault("back", here)
    return "?" + urlencode(encode(view(**changes)), doseq=True)


def go(**changes: Any) -> None:
    """Move the view inside the session (a button's callback: no reload)."""
    st.session_state.update(changes)


def bound(key: str, widget: Callable[..., Any], shown: Any, to_view: Callable[[Any], Any] = lambda v: v,
          **kwargs: Any) -> Any:
    """Draw `widget` for the view key `key`, showing `shown` (the view's value in the widget's
    terms); the widget's value, mapped by `to_view`, is written back to the view at once."""
    ss = st.session_state
    wkey = "w_" + key
    ss[wkey] = shown
    widget(key=wkey, on_change=_copy, args=(key, to_view), **kwargs)
    ss[key] = to_view(ss[wkey])
    return ss[key]


def _copy(key: str, to_view: Callable[[Any], Any]) -> None:
    st.session_state[key] = to_view(st.session_state["w_" + key])
