"""Cancer registry dashboard: the Streamlit entry point (``make run``).

Builds the navigation from the list of pages in ``app_support/navigation.py`` (a page
appears only when its file exists). Every page draws the shared
sidebar itself (``app_support.filters.sidebar_filters``); see ``app_support/__init__.py``.
"""
import streamlit as st

from app_support import logs, navigation
from app_support.filters import current_lang
from app_support.text import t

lang = current_lang()
logs.configure()
st.set_page_config(page_title=t("app.name", lang), page_icon=":material/monitoring:", layout="wide")
navigation.run(lang)   # the pages are listed in app_support/navigation.py
