"""Data: upload an extract, population, regions, risk factors and deaths; map columns and codes;
load them in the ingest worker (memory cap, time limit, progress bar); see the validation report;
switch between the demo and the upload (kept in this session, on disk only as the operator set).

Every file is parsed in the worker (analytics.ingest.sandbox), never in the server's process;
what comes back is a result or a sentence (analytics.ingest.upload). The page shows values only of
columns mapped to a data-model field; user text (file, column and region names, the readers'
sentences that quote them) goes through text.md before Streamlit renders it as Markdown.
"""
import hashlib
import logging

import pandas as pd
import streamlit as st

from analytics import privacy, quality
from analytics import schema as S
from analytics.errors import IngestError
from analytics.export import table_to_csv
from analytics.ingest import sandbox, upload
from analytics.ingest.limits import Limits
from analytics.pipeline import STAGES
from app_support import audit, auth, filters, state, tables, widgets
from app_support.text import md, source_text

PREVIEW_SHOWN = 10
TABLE_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "gz"]
ROLES = ("extract", "population", "regions", "risk_factors", "deaths")

log = logging.getLogger(__name__)
f = filters.sidebar_filters()
auth.require(auth.UPLOAD)            # registrar only: uploads, previews and flagged records are record-level
ss = st.session_state
limits = Limits.from_env()
st.title(f.t("app.page.data"))
widgets.translate_uploaders(f.lang)
folder = state.data_folder()
if folder is None:
    st.caption(f.t("ingest.privacy_session"))
elif state.keep_raw():
    st.warning(f.t("ingest.privacy_folder_raw", folder=md(folder)))
else:
    st.caption(f.t("ingest.privacy_folder", folder=md(folder)))
if f.public:   # uploads and their validation report are record-level: not public output
    st.info(f.t("disclosure.data_page"))
    st.stop()

# --- which data -------------------------------------------------------------------------
loaded_up = ss.get("_upload")
choices = ["demo"] + (["upload"] if loaded_up is not None and loaded_up.registry.population is not None else [])
if ss.get("_source") not in choices:
    ss["_source"] = "demo"
src_labels = {"demo": f.t("app.data.use_demo"),
              "upload": f.t("app.data.use_upload", name=md(loaded_up.label) if loaded_up is not None else "")}
if ss.get("data_source") not in choices or ss.get("_data_source_seen") != ss["_source"]:
    ss["data_source"] = ss["_source"]  # a load just switched the source
chosen = st.radio(f.t("app.data.source"), choices, format_func=src_labels.get, key="data_source", horizontal=True)
ss["_data_source_seen"] = chosen
if chosen != ss["_source"]:
    ss["_source"] = chosen
    st.rerun()

# --- upload -----------------------------------------------------------------------------
st.subheader(f.t("app.data.upload"))
st.caption(f.t("ingest.limits", mb=limits.max_upload_mb, rows=f"{limits.max_rows:,}", columns=limits.max_columns))
c1, c2 = st.columns(2)
extract = c1.file_uploader(f.t("app.data.extract"), type=TABLE_TYPES, key="up_extract")
population = c2.file_uploader(f.t("app.data.population"), type=TABLE_TYPES, key="up_pop")
c3, c4 = st.columns(2)
regions = c3.file_uploader(f.t("app.data.regions"), type=["geojson", "json", "gpkg", "zip"], key="up_regions")
risk = c4.file_uploader(f.t("app.data.risk"), type=TABLE_TYPES, key="up_risk")
c5, c6 = st.columns(2)
deaths = c5.file_uploader(f.t("mortality.data.deaths"), type=TABLE_TYPES, key="up_deaths",
                          help=f.t("mortality.data.deaths_help"))   # vital statistics; else derived from the records
mapfile = c6.file_uploader(f.t("app.data.mapping_file"), type=["yaml", "yml", "json"], key="up_mapping")
uploads = {"extract": extract, "population": population, "regions": regions, "risk_factors": risk, "deaths": deaths}


def show_error(err: IngestError) -> None:
    """The reader's sentence, escaped: it may quote a file or column name."""
    st.error(md(str(err)))


def run_in_worker(fn, *args, label: str, progress=None):
    """``fn`` in the ingest worker; the value, or None after showing the sentence."""
    outcome = sandbox.run(fn, *args, limits=limits, label=label, progress=progress)
    if outcome.error is not None:
        show_error(outcome.error)
        return None
    return outcome.value


def cached_preview(up, mapping_up):
    """The preview of this extract with this mapping file: computed in the worker once, kept in
    the session while the same files are selected (a rerun costs nothing)."""
    data = up.getvalue()
    mdata = mapping_up.getvalue() if mapping_up is not None else None
    key = (up.name, state.file_digest(data), state.file_digest(mdata) if mdata is not None else None)
    hit = ss.get("_preview")
    if hit is not None and hit[0] == key:
        if isinstance(hit[1], IngestError):
            show_error(hit[1])
            return None
        return hit[1]
    outcome = sandbox.run(upload.preview, data, up.name, mdata, mapping_up.name if mapping_up else None,
                          limits=limits, label=up.name)
    ss["_preview"] = (key, outcome.error if outcome.error is not None else outcome.value)
    if outcome.error is not None:
        show_error(outcome.error)
        return None
    return outcome.value


# --- mapping step ---------------------------------------------------------------------------
mapping = None
if mapfile is not None and extract is None:          # a broken mapping file is said at once
    try:
        upload.read_mapping(mapfile.getvalue(), mapfile.name, limits=limits)
    except IngestError as err:
        show_error(err)
pv = cached_preview(extract, mapfile) if extract is not None else None
if pv is not None:
    st.markdown(f"**{f.t('app.data.mapping')}**")
    if pv.identifiers:
        st.info(f.t("ingest.identifiers_not_read", columns=md(", ".join(
            f"{privacy.shown_header(c)} ({k})" for c, k in pv.identifiers.items()))))
    fields = [""] + S.TUMOUR_COLUMNS
    given = pv.file_mapping.columns if pv.file_mapping is not None else {}
    usable = [h for h in pv.headers if h not in pv.identifiers]
    rows = pd.DataFrame({"column": usable,
                         "field": [given.get(c) or pv.suggested["columns"].get(c, "") for c in usable]})
    edited = st.data_editor(rows, key="map_editor", hide_index=True, disabled=["column"],
                            column_config={"column": st.column_config.TextColumn(f.t("app.col.column")),
                                           "field": st.column_config.SelectboxColumn(f.t("app.data.field"),
                                                                                     options=fields)})
    columns_map = {r.column: r.field for r in edited.itertuples() if r.field}
    fm_codes = pv.file_mapping.codes if pv.file_mapping is not None and pv.file_mapping.codes else None
    codes = {k: dict(v) for k, v in (fm_codes or pv.suggested.get("codes", {})).items()}
    crow, skipped = upload.code_rows(pv.sample, columns_map, codes, lambda n: f.t("ingest.masked_value", n=n))
    if skipped:
        st.warning(f.t("ingest.not_codes", columns=md(", ".join(privacy.shown_header(c) for c in skipped))))
    if crow:
        st.markdown(f"**{f.t('app.data.code_mapping')}**")
        code_options = sorted({str(c) for lst in upload.CODE_LISTS.values() for c in lst}, key=int)
        edited_codes = st.data_editor(
            pd.DataFrame(crow).drop(columns="_value"), key="code_editor", hide_index=True,
            disabled=["column", "value"],
            column_config={"column": st.column_config.TextColumn(f.t("app.col.column")),
                           "value": st.column_config.TextColumn(f.t("app.data.their_value")),
                           "code": st.column_config.SelectboxColumn(f.t("app.data.registry_code"),
                                                                    options=[""] + code_options)})
        st.caption(f.t("app.data.code_help"))
        for r, original in zip(edited_codes.itertuples(), crow):
            if r.code not in ("", None) and r.code == r.code:
                codes.setdefault(columns_map[r.column], {})[original["_value"]] = int(r.code)
    mapping = {"columns": columns_map, "codes": codes}
    if pv.file_mapping is not None and pv.file_mapping.date_format:
        mapping["date_format"] = pv.file_mapping.date_format
    with st.expander(f.t("app.data.preview")):
        mapped = [c for c in pv.sample.columns if c in columns_map]
        head = pv.sample[mapped].head(PREVIEW_SHOWN)
        st.dataframe(pd.DataFrame({c: upload.preview_values(head[c], columns_map[c], f.t("ingest.masked"))
                                   for c in mapped}), hide_index=True)
        unmapped = [privacy.shown_header(c) for c in pv.headers if c not in columns_map]
        if unmapped:
            st.caption(f.t("ingest.unmapped_headers", columns=md(", ".join(unmapped))))

# --- load -------------------------------------------------------------------------------------
if st.button(f.t("app.data.load"), type="primary", disabled=extract is None or pv is None, key="data_load"):
    files = {role: (up.name, up.getvalue()) for role, up in uploads.items() if up is not None}
    bar = st.progress(0.0, text=f.t("app.data.loading"))

    def progress(stage: str) -> None:
        bar.progress(STAGES.get(stage, 0.0), text=f.t(f"ingest.stage.{stage}"))

    loaded = run_in_worker(upload.load, files, mapping, label=extract.name, progress=progress)
    bar.empty()
    if loaded is not None:
        reg = loaded.registry
        token = state.upload_token({**files, **({"mapping": (mapfile.name, mapfile.getvalue())} if mapfile else {})},
                                   mapping)
        if loaded.geo is not None:
            region_table = state._region_table(loaded.geo)
        else:
            codes_seen = sorted(set(reg.records[S.REGION].dropna().astype(str)) | (
                set(reg.population[S.REGION].dropna().astype(str)) if reg.population is not None else set()))
            region_table = pd.DataFrame({S.REGION: codes_seen, S.REGION_NAME: codes_seen, S.PARENT: "",
                                         S.PARENT_NAME: "", "parent_name_en": ""})
        ss["_upload"] = state.Dataset(token, reg, region_table, extract.name, loaded.geo, loaded.risk_factors)
        # the files' names and SHA-256, for the reproducibility stamp of reports (analytics.report)
        reg.info["files"] = {role: (name, hashlib.sha256(data).hexdigest()) for role, (name, data) in files.items()}
        ss["_upload_info"] = {"region_source": loaded.region_source, "notes": loaded.notes}
        ss["_source"] = "upload" if reg.population is not None else "demo"
        filters.reset_period()          # the period filter starts from the uploaded data's years
        try:       # only for a registrar, and when the operator configured a folder (REGISTRY_DATA_DIR)
            kept = state.keep_upload(loaded, files, mapping, token) if auth.can(auth.KEEP_UPLOADS) else None
            ss["_keep_error"] = None
        except OSError as exc:          # a full disk or a folder the server may not write: said, not raised
            log.warning("upload not kept in %s: %s", folder, exc)
            kept, ss["_keep_error"] = None, exc.strerror or type(exc).__name__
        ss["_kept_in"] = str(kept) if kept is not None else None
        audit.log_event("upload", files=audit.file_facts(files), records_read=reg.n_read, records_used=reg.n_used,
                        records_excluded=reg.n_excluded, outcome="loaded", kept=kept is not None)
        st.rerun()
    audit.log_event("upload", files=audit.file_facts(files), outcome="rejected")

# --- validation report: of the upload just loaded, else of the data shown ---------------------
if ss.get("_keep_error"):
    st.warning(f.t("ingest.keep_failed", folder=md(folder), error=md(ss["_keep_error"])))
ds = state.active()
up = ss.get("_upload")
if up is not None and up.registry.population is None:
    st.warning(f.t("app.data.no_population"))
    ds = up
reg = ds.registry
st.subheader(f.t("app.data.report", name=md(f.source(ds))))
widgets.metric_row([
    (f.t("app.data.n_read"), widgets.fmt(reg.n_read, f.lang, 0), None),
    (f.t("app.data.n_used"), widgets.fmt(reg.n_used, f.lang, 0), None),
    (f.t("app.data.n_excluded"), widgets.fmt(reg.n_excluded, f.lang, 0), None),
])
st.caption(f.t("app.data.loaded", date=str(reg.loaded_at)[:19], source=md(source_text(reg.source, f.lang))))
st.caption(f.t("describe.whole_dataset", source=md(f.source(ds))))
info = ss.get("_upload_info") if up is not None and ds.token.split("+")[0] == up.token else None
if info is not None:
    st.caption(f.t(f"ingest.regions_{info['region_source']}"))
    for note in info["notes"]:
        st.caption(md(note))
if reg.dropped_columns:
    st.warning(f.t("app.data.dropped", columns=md(", ".join(privacy.shown_header(c) for c in reg.dropped_columns))))
st.markdown(f"**{f.t('app.data.reconciliation')}**")
tables.show(reg.reconciliation, lang=f.lang, key="data_recon")
outside = quality.unknown_regions(reg.records, reg.flags)
if len(outside):
    st.markdown(f"**{f.t('ingest.unknown_regions', n=widgets.fmt(int(outside['records'].sum()), f.lang, 0))}**")
    st.caption(f.t("ingest.unknown_regions_help"))
    outside = outside.assign(**{S.REGION: outside[S.REGION].map(privacy.shown_region_code)})
    tables.show(outside, lang=f.lang, key="data_unknown_regions")
flags = reg.report().drop(columns=[S.TUMOUR_ID], errors="ignore")
st.markdown(f"**{f.t('app.data.flags', n=widgets.fmt(len(flags), f.lang, 0))}**")
tables.show(flags.head(1000), lang=f.lang, key="data_flags")
widgets.download_button(f.t("app.data.flags_csv"), data=lambda: table_to_csv(flags), file_name="flagged_records.csv",
                        mime="text/csv", key="dl_flags", on_click="ignore", what="flagged records", f=f, ds=ds)
