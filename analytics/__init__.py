"""Cancer registry analytics: ingest, validation, rates, trends, prevalence, maps, export.

A library: pure functions over tidy pandas frames. It never imports streamlit.
"""
__version__ = "0.1.0"
