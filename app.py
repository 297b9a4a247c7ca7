"""Cancer registry dashboard: the Streamlit entry point (``make run``).

Builds the navigation from a fixed list of pages; a page appears only when its file exists,
so pages written later drop in without touching this file. Every page draws the shared
sidebar itself (``app_support.filters.sidebar_filters``); see ``app_support/__init__.py``.

Before any page, ``auth.gate()`` applies the operator's mode (``REGISTRY_MODE``): in
``internal`` mode only the sign-in screen is served until the user has signed in and has a
role; the navigation then lists only the pages the role may open, so a crafted page address
finds nothing else (app_support/auth.py).
"""
from pathlib import Path

import streamlit as st

from app_support import auth
from app_support.filters import current_lang
from app_support.text import t

HERE = Path(__file__).resolve().parent
# (file stem, material icon); the URL path of each page is its stem.
PAGES = [
    ("overview", ":material/dashboard:"),
    ("incidence", ":material/bar_chart:"),
    ("quality", ":material/fact_check:"),
    ("data", ":material/upload_file:"),
    ("methods", ":material/menu_book:"),
    ("trends", ":material/trending_up:"),
    ("prevalence", ":material/groups:"),
    ("projections", ":material/timeline:"),
    ("maps", ":material/map:"),
    ("risk_factors", ":material/query_stats:"),
]

lang = current_lang()
st.set_page_config(page_title=t("app.name", lang), page_icon=":material/monitoring:", layout="wide")
auth.gate()
pages = [
    st.Page(f"pages/{stem}.py", title=t(f"app.page.{stem}", lang), icon=icon, url_path=stem, default=(stem == "overview"))
    for stem, icon in PAGES
    if (HERE / "pages" / f"{stem}.py").exists() and auth.page_allowed(stem)
]
auth.sidebar_status(lang)
page = st.navigation(pages)
st.session_state[auth.PAGE_KEY] = page.url_path or "overview"
page.run()
