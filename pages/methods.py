"""Methods: every measure with its formula, options and references; the standard populations;
the provenance of the loaded data."""
import pandas as pd
import streamlit as st

from analytics import standards
from app_support import filters, tables, widgets
from analytics.i18n import standard_label

f = filters.sidebar_filters()
ds = filters.dataset()
st.title(f.t("app.page.methods"))

# (key, formula in LaTeX, reference) -- descriptions come from the catalogue.
MEASURES = [
    ("crude", r"\text{CR} = 100\,000 \cdot \frac{\sum_i d_i}{\sum_i P_i}",
     "Jensen et al. 1991, IARC Sci. Pub. 95, ch. 11; exact Poisson limits (Garwood 1936)"),
    ("age_specific", r"r_i = 100\,000 \cdot d_i / P_i",
     "Jensen et al. 1991; exact Poisson limits"),
    ("asr", r"\text{ASR} = 100\,000 \sum_i w_i \frac{d_i}{P_i},\quad \operatorname{Var} = 100\,000^2 \sum_i w_i^2 \frac{d_i}{P_i^2}",
     "Breslow & Day 1987; SEER*Stat rate algorithms; CIs: Tiwari, Clegg & Zou 2006 (default), "
     "Fay & Feuer 1997, Dobson et al. 1991, normal (CanReg5)"),
    ("cumrisk", r"\text{CumRate} = 100 \sum_{i \le 74} t_i \frac{d_i}{P_i},\quad \text{CumRisk} = 100\,(1 - e^{-\text{CumRate}/100})",
     "Day 1987; Jensen et al. 1991, ch. 11; CI5"),
    ("sir", r"\text{SIR} = O / E,\quad E = \sum_i r^{\text{ref}}_i P_i",
     "Breslow & Day 1987; exact Poisson limits divided by E"),
    ("apc", r"\ln r_t = b_0 + b_1 t,\quad \text{APC} = 100\,(e^{b_1} - 1)",
     "SEER*Stat trend algorithms; Kim et al. 2000 (Joinpoint)"),
    ("prevalence", r"\text{Prev}_N(t) = \#\{\text{alive at } t,\ \text{diagnosed in } (t-N, t]\}",
     "SEER*Stat counting method; Gail et al. 1999"),
    ("quality", r"\%\text{MV} = 100 \cdot \frac{\#\{\text{basis} \in 5..8\}}{n},\quad \%\text{DCO} = 100 \cdot \frac{\#\{\text{basis} = 0\}}{n}",
     "Bray & Parkin 2009, Eur J Cancer 45:747"),
    ("disclosure", r"0 < d < k \Rightarrow \text{shown as } {<}k",
     "methods sheet §8; k = 10 in public output mode"),
]
st.subheader(f.t("app.methods.measures"))
for key, formula, ref in MEASURES:
    with st.expander(f.t(f"app.methods.{key}"), expanded=key == "asr"):
        st.markdown(f.t(f"app.methods.{key}_text"))
        st.latex(formula)
        st.caption(f.t("app.methods.reference", ref=ref))

# Mortality (analytics.mortality): the same rate formulas on deaths, the source of the deaths, M:I, SMR.
MORTALITY = [
    ("rates", r"\text{ASR}_M = 100\,000 \sum_i w_i \frac{D_i}{P_i},\quad "
              r"\text{CumRisk}_M = 100\,(1 - e^{-\sum_{i \le 74} t_i D_i / P_i})",
     "Jensen et al. 1991, IARC Sci. Pub. 95, ch. 11; Ferlay et al. 2021, Int J Cancer 149:778 (GLOBOCAN)"),
    ("source", r"D = \#\{\text{patients}: \text{vital status} = 2,\ "
               r"\text{group}(\text{cause}) \in \{\text{group}(\text{tumour}_j)\}\}",
     "WHO, ICD-10 vol. 2, rules for the underlying cause of death; IARC CI5-XI site groups (Bray et al. 2017)"),
    ("mi", r"\text{M:I} = \frac{\sum D}{\sum I}\ \text{(same sex, site, region, period, ages)}",
     "Bray & Parkin 2009, Eur J Cancer 45:747; Parkin & Bray 2009, Eur J Cancer 45:756; "
     "Asadzadeh Vostakolaei et al. 2011, Eur J Public Health 21:573"),
    ("smr", r"\text{SMR} = O / E,\quad E = \sum_i m^{\text{ref}}_i P_i,\quad "
            r"\hat\theta_r = \frac{O_r + \nu}{E_r + \alpha}",
     "Breslow & Day 1987, vol. II; Clayton & Kaldor 1987, Biometrics 43:671"),
    ("trend", r"\ln \text{ASR}_{M,t} = b_0 + b_1 t + \sum_j \delta_j (t - \tau_j)^+",
     "Kim et al. 2000, Stat Med 19:335 (Joinpoint); Clegg et al. 2009, Stat Med 28:3670 (AAPC)"),
]
st.subheader(f.t("mortality.methods.title"))
st.markdown(f.t("mortality.methods.intro"))
for key, formula, ref in MORTALITY:
    with st.expander(f.t(f"mortality.methods.{key}"), expanded=False):
        st.markdown(f.t(f"mortality.methods.{key}_text"))
        st.latex(formula)
        st.caption(f.t("app.methods.reference", ref=ref))

# Survival (analytics.survival): formulas here, descriptions in the survival catalogue.
SURVIVAL_METHODS = [
    ("km", r"\hat S(t) = \prod_{t_j \le t}\Big(1 - \frac{d_j}{n_j}\Big),\quad "
           r"\widehat{\operatorname{se}}^2 = \sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)},\quad "
           r"\hat S\, e^{\pm z\, \widehat{\operatorname{se}}}",
     "Kaplan & Meier 1958, J Am Stat Assoc 53:457; Greenwood 1926"),
    ("actuarial", r"n'_k = n_k - \tfrac{c_k}{2} + \tfrac{e_k}{2},\quad \hat S = \prod_k \Big(1 - \frac{d_k}{n'_k}\Big)",
     "Cutler & Ederer 1958, J Chronic Dis 8:699"),
    ("ederer2", r"\hat S_R(t) = \prod_{t_j \le t}\Big(1 - \frac{d_j - \sum_{i \in R_j} \int_{t_{j-1}}^{t_j}"
                r" \lambda_{P,i}(u)\,du}{n_j}\Big),\quad \widehat{\operatorname{se}}^2 = \sum \frac{d_j}{n_j^2}",
     "Ederer & Heise 1959; relsurv rs.surv (Pohar Perme, Stare & Estève 2012)"),
    ("pohar_perme", r"\hat S_N(t) = \prod_{t_j \le t}\Big(1 - \frac{\sum_i dN_i(t_j)/S_{P,i}(t_j)}"
                    r"{\sum_i Y_i(t_j)/S_{P,i}(t_j)} + \int_{t_{j-1}}^{t_j} \frac{\sum_i Y_i \lambda_{P,i}/S_{P,i}}"
                    r"{\sum_i Y_i/S_{P,i}}\,du\Big),\quad \lambda_P = \frac{-\ln(1 - q_x)}{365.241}",
     "Pohar Perme, Stare & Estève 2012, Biometrics 68:113; relsurv 2.2-9 rs.surv"),
    ("approaches", r"\text{period: entry} = \max(0,\ \text{window start} - \text{diagnosis}),\ "
                   r"\text{exit} = \min(\text{time},\ \text{window end} - \text{diagnosis})",
     "Brenner & Gefeller 1996, Cancer 78:2004"),
    ("icss", r"\hat S_{\text{std}} = \sum_k w_k \hat S_k,\quad \operatorname{Var} = \sum_k w_k^2 \hat S_k^2\, "
             r"\widehat{\operatorname{se}}_k^2",
     "Corazziari, Quinn & Capocaccia 2004, Eur J Cancer 40:2307"),
    ("followup", r"C = \frac{\sum_i \text{observed follow-up}_i}{\sum_i \text{potential follow-up}_i}",
     "Clark, Altman & De Stavola 2002, Lancet 359:1309; Allemani et al. 2018 (CONCORD-3)"),
]
st.subheader(f.t("survival.methods.title"))
for key, formula, ref in SURVIVAL_METHODS:
    with st.expander(f.t(f"survival.methods.{key}"), expanded=False):
        st.markdown(f.t(f"survival.methods.{key}_text"))
        st.latex(formula)
        st.caption(f.t("app.methods.reference", ref=ref))

st.subheader(f.t("app.methods.selection"))
st.markdown(f.t("app.methods.selection_text", standard=f.std, ci=f.t(f"app.ci.{f.ci}"), conf=f.conf,
                period=f.period_label()))

st.subheader(f.t("app.methods.standards"))
std_names = list(standards.ALIASES)
wide = pd.concat({n: standards.get_standard(n).set_index("age_group")["weight"] for n in std_names}, axis=1)
tables.show(wide.reset_index(), lang=f.lang, key="methods_standards",
            headers={n: f"{standard_label(n, f.lang)} ({n})" for n in std_names})
st.caption(f.t("app.methods.standards_note"))

st.subheader(f.t("app.methods.provenance"))
reg = ds.registry
tables.show(pd.DataFrame({
    "item": [f.t("app.methods.prov_source"), f.t("app.methods.prov_file"), f.t("app.data.n_read"),
             f.t("app.data.n_used"), f.t("app.data.n_excluded"), f.t("app.methods.prov_loaded")],
    "value": [f.source(ds), str(reg.source), widgets.fmt(reg.n_read, f.lang, 0), widgets.fmt(reg.n_used, f.lang, 0),
              widgets.fmt(reg.n_excluded, f.lang, 0), str(reg.loaded_at)[:19]],
}), lang=f.lang, key="methods_provenance", headers={"value": f.t("app.col.value")})
