"""Data: upload an extract, population, regions and risk factors; map columns; see the
validation report; switch between the demo and the upload (kept in this session only)."""
import pandas as pd
import streamlit as st

from analytics import schema as S
from analytics.errors import IngestError
from app_support import audit, auth, filters, state, tables, widgets

# Codes of the coded fields (analytics.schema): sex, basis of diagnosis, behaviour, vital status.
CODE_LISTS = {S.SEX: (1, 2, 9), S.BASIS: tuple(range(10)), S.BEHAVIOUR: (0, 1, 2, 3), S.VITAL_STATUS: (1, 2, 9)}

f = filters.sidebar_filters()
auth.require(auth.UPLOAD)            # registrar only: uploads, previews and flagged records are record-level
ss = st.session_state
st.title(f.t("app.page.data"))
st.caption(f.t("app.data.privacy") if state.data_folder() is None
           else f.t("app.data.privacy_folder", folder=str(state.data_folder())))

# --- which data -------------------------------------------------------------------------
upload = ss.get("_upload")
choices = ["demo"] + (["upload"] if upload is not None and upload.registry.population is not None else [])
if ss.get("_source") not in choices:
    ss["_source"] = "demo"
src_labels = {"demo": f.t("app.data.use_demo"),
              "upload": f.t("app.data.use_upload", name=upload.label if upload is not None else "")}
if ss.get("data_source") not in choices or ss.get("_data_source_seen") != ss["_source"]:
    ss["data_source"] = ss["_source"]  # a load just switched the source
chosen = st.radio(f.t("app.data.source"), choices, format_func=src_labels.get, key="data_source", horizontal=True)
ss["_data_source_seen"] = chosen
if chosen != ss["_source"]:
    ss["_source"] = chosen
    st.rerun()

# --- upload -----------------------------------------------------------------------------
st.subheader(f.t("app.data.upload"))
c1, c2 = st.columns(2)
extract = c1.file_uploader(f.t("app.data.extract"), type=["csv", "tsv", "txt", "xlsx", "parquet"], key="up_extract")
population = c2.file_uploader(f.t("app.data.population"), type=["csv", "tsv", "txt", "xlsx", "parquet"], key="up_pop")
c3, c4 = st.columns(2)
regions = c3.file_uploader(f.t("app.data.regions"), type=["geojson", "json", "gpkg", "zip"], key="up_regions")
risk = c4.file_uploader(f.t("app.data.risk"), type=["csv", "tsv", "txt", "xlsx", "parquet"], key="up_risk")
mapfile = st.file_uploader(f.t("app.data.mapping_file"), type=["yaml", "yml", "json"], key="up_mapping")
deaths_up = st.file_uploader(f.t("mortality.data.deaths"), type=["csv", "tsv", "txt", "xlsx", "parquet"], key="up_deaths",
                             help=f.t("mortality.data.deaths_help"))   # vital statistics; else derived from the records


def _fail(what: str, err: Exception) -> None:
    """The ingest's own sentence for input a user can fix; a short notice for anything else."""
    if isinstance(err, IngestError):
        st.error(str(err))
    else:
        st.error(f.t("app.data.unexpected", what=what, error=f"{type(err).__name__}: {err}"))


file_map = None
if mapfile is not None:
    import yaml

    from analytics import mapping as mapping_mod

    try:
        try:
            raw = yaml.safe_load(mapfile.getvalue().decode("utf-8-sig"))   # JSON is YAML too
        except yaml.YAMLError as exc:
            raise IngestError(f"the mapping is not valid YAML/JSON ({str(exc).splitlines()[0]}). Fix the syntax.",
                              file=mapfile.name) from None
        file_map = mapping_mod.load_mapping(raw if raw is not None else {})
    except IngestError as err:
        _fail(mapfile.name, err.with_file(mapfile.name))

mapping = None
if extract is not None:
    from analytics import mapping as mapping_mod
    from analytics import readers

    try:
        sample = readers.sample_table(readers.open_source(extract.getvalue(), extract.name), nrows=20)
        suggested = mapping_mod.suggest_mapping(sample.columns)
    except Exception as err:  # noqa: BLE001 - shown to the user, the app stays usable
        _fail(extract.name, err)
        sample, suggested = None, None
    if suggested is not None:
        st.markdown(f"**{f.t('app.data.mapping')}**")
        fields = [""] + S.TUMOUR_COLUMNS
        given = file_map.columns if file_map is not None else {}
        rows = pd.DataFrame({"column": [str(c) for c in sample.columns],
                             "field": [given.get(str(c)) or suggested["columns"].get(str(c), "") for c in sample.columns]})
        edited = st.data_editor(rows, key="map_editor", hide_index=True, disabled=["column"],
                                column_config={"column": st.column_config.TextColumn(f.t("app.col.column")),"field": st.column_config.SelectboxColumn(
                                    f.t("app.data.field"), options=fields)})
        columns_map = {r.column: r.field for r in edited.itertuples() if r.field}
        codes = {k: dict(v) for k, v in (file_map.codes if file_map is not None and file_map.codes
                                         else suggested.get("codes", {})).items()}
        # Codes: each value found in a coded column, with the registry code it stands for
        # (from the mapping file or suggestion, else the value itself when it is a valid code).
        rows = []
        for theirs, field in columns_map.items():
            if field not in CODE_LISTS or theirs not in sample.columns:
                continue
            for v in sorted(sample[theirs].dropna().astype(str).str.strip().unique())[:40]:
                given = codes.get(field, {}).get(v)
                if given is None and v.lstrip("0").isdigit() and int(v) in CODE_LISTS[field]:
                    given = int(v)
                rows.append({"column": theirs, "value": v, "code": str(given) if given is not None else ""})
        if rows:
            st.markdown(f"**{f.t('app.data.code_mapping')}**")
            code_options = sorted({str(c) for lst in CODE_LISTS.values() for c in lst}, key=int)
            edited_codes = st.data_editor(
                pd.DataFrame(rows), key="code_editor", hide_index=True, disabled=["column", "value"],
                column_config={"column": st.column_config.TextColumn(f.t("app.col.column")),
                               "value": st.column_config.TextColumn(f.t("app.data.their_value")),
                               "code": st.column_config.SelectboxColumn(f.t("app.data.registry_code"),
                                                                        options=[""] + code_options)})
            st.caption(f.t("app.data.code_help"))
            for r in edited_codes.itertuples():
                if r.code not in ("", None) and r.code == r.code:
                    codes.setdefault(columns_map[r.column], {})[r.value] = int(r.code)
        mapping = {"columns": columns_map, "codes": codes}
        if file_map is not None and file_map.date_format:
            mapping["date_format"] = file_map.date_format
        with st.expander(f.t("app.data.preview")):
            st.dataframe(sample.head(10), hide_index=True)

if st.button(f.t("app.data.load"), type="primary", disabled=extract is None, key="data_load"):
    ok = True
    pop = geo = rf = dth = None
    loaded = {role: (up.name, up.getvalue()) for role, up in
              (("extract", extract), ("population", population), ("regions", regions),
               ("risk_factors", risk), ("mapping", mapfile), ("deaths", deaths_up)) if up is not None}
    from analytics.readers import read_deaths, read_population, read_regions, read_risk_factors
    for up, reader, what in ((population, read_population, "population"), (risk, read_risk_factors, "risk"),
                             (deaths_up, read_deaths, "deaths")):
        if up is None:
            continue
        try:
            value = reader(up.getvalue() if hasattr(up, "getvalue") else up, name=up.name)
        except Exception as err:  # noqa: BLE001
            _fail(up.name, err)
            ok = False
            continue
        if what == "population":
            pop = value
        elif what == "deaths":
            dth = value
        else:
            rf = value
    if regions is not None and ok:
        try:
            geo = read_regions(regions, name=None)
        except Exception as err:  # noqa: BLE001
            _fail(regions.name, err)
            ok = False
    if ok:
        try:
            from analytics.pipeline import load_registry

            with st.spinner(f.t("app.data.loading")):
                reg = load_registry(extract.getvalue(), mapping=mapping, population=pop, deaths=dth, name=extract.name)
        except Exception as err:  # noqa: BLE001
            _fail(extract.name, err)
            ok = False
    if ok:
        if geo is not None:
            region_table = state._region_table(geo)
        else:
            codes = sorted(set(reg.records[S.REGION].dropna().astype(str)) |
                           (set(pop[S.REGION].dropna().astype(str)) if pop is not None else set()))
            region_table = pd.DataFrame({S.REGION: codes, S.REGION_NAME: codes, S.PARENT: "", S.PARENT_NAME: "",
                                         "parent_name_en": ""})
        token = state.upload_token(extract.getvalue(), population.getvalue() if population else b"",
                                   regions.getvalue() if regions else b"", repr(mapping).encode(),
                                   deaths_up.getvalue() if deaths_up else b"")
        ds_new = state.Dataset(token, reg, region_table, f"{extract.name}", geo, rf)
        ss["_upload"] = ds_new
        ss["_source"] = "upload" if reg.population is not None else "demo"
        # only when the operator configured a data folder (REGISTRY_DATA_DIR): else memory only
        kept = state.keep_upload(loaded) if auth.can(auth.KEEP_UPLOADS) else None
        ss["_kept_in"] = str(kept) if kept is not None else None
        audit.log_event("upload", files=audit.file_facts(loaded), records_read=reg.n_read, records_used=reg.n_used,
                        records_excluded=reg.n_excluded, outcome="loaded", kept=kept is not None)
        st.rerun()
    audit.log_event("upload", files=audit.file_facts(loaded), outcome="rejected")

# --- validation report: of the upload just loaded, else of the data shown ---------------------
ds = state.active()
up = ss.get("_upload")
if up is not None and up.registry.population is None:
    st.warning(f.t("app.data.no_population"))
    ds = up
reg = ds.registry
st.subheader(f.t("app.data.report", name=f.source(ds)))
widgets.metric_row([
    (f.t("app.data.n_read"), widgets.fmt(reg.n_read, f.lang, 0), None),
    (f.t("app.data.n_used"), widgets.fmt(reg.n_used, f.lang, 0), None),
    (f.t("app.data.n_excluded"), widgets.fmt(reg.n_excluded, f.lang, 0), None),
])
st.caption(f.t("app.data.loaded", date=str(reg.loaded_at)[:19], source=str(reg.source)))
if reg.dropped_columns:
    st.warning(f.t("app.data.dropped", columns=", ".join(map(str, reg.dropped_columns))))  # names, never values
st.markdown(f"**{f.t('app.data.reconciliation')}**")
tables.show(reg.reconciliation, lang=f.lang, key="data_recon")
flags = (reg.report() if hasattr(reg, "report") else reg.flags).drop(columns=[S.TUMOUR_ID], errors="ignore")
st.markdown(f"**{f.t('app.data.flags', n=widgets.fmt(len(flags), f.lang, 0))}**")
tables.show(flags.head(1000), lang=f.lang, key="data_flags")
widgets.download_button(f.t("app.data.flags_csv"), data=lambda: flags.to_csv(index=False).encode("utf-8"),
                        file_name="flagged_records.csv", mime="text/csv", key="dl_flags", on_click="ignore",
                        what="flagged records", f=f, ds=ds)
