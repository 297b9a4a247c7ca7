"""Cancer registry dashboard: the Streamlit entry point (``make run``).

Builds the navigation from the list of pages in ``app_support/navigation.py`` (a page
appears only when its file exists). Every page draws the shared
sidebar itself (``app_support.filters.sidebar_filters``); see ``app_support/__init__.py``.

Before any page, ``auth.gate()`` applies the operator's mode (``REGISTRY_MODE``): in
``internal`` mode only the sign-in screen is served until the user has signed in and has a
role; the navigation lists only the pages the role may open (``auth.page_allowed``), so a
crafted page address finds nothing else (app_support/auth.py).
"""
from pathlib import Path

import streamlit as st

from app_support import auth, background, logs, navigation
from app_support.filters import current_lang
from app_support.text import t

# the tab icon is served by this server (a Material symbol would be fetched from Google's font CDN)
FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"

auth.begin_run()       # this run reads the operator's settings once (app_support/auth.py)
lang = current_lang()
logs.configure()
background.warm_up()   # once per process, in a thread (serve.py starts it earlier): the demo's cubes, export browser
st.set_page_config(page_title=t("app.name", lang), page_icon=str(FAVICON), layout="wide")
with background.visitor_run():   # the warm-up pauses while a visitor's page runs
    auth.gate()            # the mode's conditions; in internal mode, a signed-in user with a role
    auth.sidebar_status(lang)
    navigation.run(lang)   # the pages are listed in app_support/navigation.py (those the role may open)
