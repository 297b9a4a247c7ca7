"""Safety of the ingest: what an untrusted file may cost and how it is opened.

The readers (:mod:`analytics.readers`, :mod:`analytics.auxiliary`, :mod:`analytics.mapping`)
turn files into the data model; this sub-package holds what keeps a hostile or careless
file from harming the server or leaking identifiers on the way:

* :mod:`~analytics.ingest.limits` — configurable limits (sizes, decompression ratio, rows,
  columns, field length, mapping-file size and nesting, worker memory and time);
* :mod:`~analytics.ingest.safeio` — bytes in: streaming decompression that stops at the cap,
  zip inspection before anything is extracted, recognition of the format by its bytes;
* :mod:`~analytics.ingest.geo` — region boundaries: only GeoJSON, GeoPackage and zipped
  Shapefile, each opened with its own GDAL driver, GDAL's network access off;
* :mod:`~analytics.ingest.sandbox` — a worker process with a memory cap and a timeout in
  which every uploaded file is parsed, reporting its progress;
* :mod:`~analytics.ingest.upload` — the Data page's steps (preview, load) as plain functions
  that run in that worker and always end in a result or a sentence, never a traceback.
"""
