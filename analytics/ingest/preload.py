"""Imported once by the ingest worker's fork server (:mod:`analytics.ingest.sandbox`), so that
each worker forked from it starts with the readers loaded (milliseconds, not seconds)."""
from analytics import auxiliary, derive, pipeline, quality, readers  # noqa: F401
from analytics.ingest import geo, upload  # noqa: F401
from analytics.survival import kernels

geo.disable_network()

# the survival fits' compiled loops, loaded once here rather than in each worker's first fit
kernels.warm()
