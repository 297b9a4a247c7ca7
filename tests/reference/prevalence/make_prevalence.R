# Reference values for analytics.prevalence.prevalence (limited-duration prevalence by the
# counting method) on 120 random registries of 3 to 400 people each, by sex, 1-year, 5-year and
# all-years prevalence at the end of 31 December 2024.
#
# Counting rules (SEER*Stat counting method, docs/methods.md 5): alive at the end of the index
# date t and diagnosed in (t - N years, t]; dead after t counts, dead on or before t does not;
# alive with last contact before t is lost to follow-up (0, or with the adjustment S(t - dx) /
# S(t_L - dx) from monthly Kaplan-Meier curves by site x sex x age at diagnosis <60, 60-69, 70+,
# from survival::survfit); dead without a date of death cannot be classified (n_unknown).
# Proportions: Wilson score interval (stats::prop.test(correct = FALSE)). Age-standardised
# proportions over age at t with Tiwari, Clegg & Zou (2006) limits written out (../common.R;
# R dsrTest is not installed).
# Run from the repository root: Rscript tests/reference/prevalence/make_prevalence.R
suppressPackageStartupMessages(library(survival))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261107)

t_index <- as.Date("2024-12-31")
starts <- list("1" = as.Date("2023-12-31"), "5" = as.Date("2019-12-31"), all = as.Date("1800-01-01"))
SEGI <- c(12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000, 4000, 3000, 2000, 1000, 500, 500)
MONTH <- 365.25 / 12

records <- list(); pops <- list(); out <- list()
for (i in 1:120) {
  n <- sample(c(3, 10, 50, 100, 250), 1)
  adjust <- runif(1) < 0.4
  birth <- as.Date("1925-01-01") + sample(0:(85 * 365), n, replace = TRUE)
  dx <- as.Date("1995-01-01") + sample(0:(30.5 * 365), n, replace = TRUE)
  dx <- pmax(dx, birth + 365)
  sex <- sample(1:2, n, replace = TRUE)
  age <- as.integer(floor(as.numeric(dx - birth) / 365.25))
  surv_days <- round(rexp(n, 1 / (365 * runif(1, 2, 15))))
  death <- dx + surv_days
  vs <- ifelse(death <= as.Date("2025-06-30"), 2L, 1L)
  last <- ifelse(vs == 2L, death, as.Date("2025-06-30") - sample(0:100, n, replace = TRUE))
  lost <- vs == 1L & runif(n) < 0.15
  last[lost] <- pmax(as.numeric(dx[lost]), as.numeric(t_index) - sample(1:4000, sum(lost), replace = TRUE))
  last <- as.Date(last, origin = "1970-01-01")
  last[vs == 1L & runif(n) < 0.05] <- NA           # alive, last contact unknown: alive
  last[vs == 2L & runif(n) < 0.04] <- NA           # dead, date unknown: cannot be classified
  # dates as days since 1970-01-01 (compact); one person per row, one tumour each
  records[[i]] <- data.frame(case = i, sex = sex, birth_date = as.integer(birth), incidence_date = as.integer(dx),
                             age = age, vital_status = vs, last_contact_date = as.integer(last))

  # status at the end of t
  status <- ifelse(dx > t_index, "after",
            ifelse(vs == 2L & !is.na(last), ifelse(last > t_index, "alive", "dead"),
            ifelse(vs == 1L & !is.na(last), ifelse(last >= t_index, "alive", "lost"),
            ifelse(vs == 1L, "alive", "unknown"))))
  contrib <- as.numeric(status == "alive")
  if (adjust && any(status == "lost")) {
    agec <- ifelse(age < 60, "<60", ifelse(age < 70, "60-69", "70+"))
    cohort <- paste(sex, agec)
    usable <- !is.na(last) & last >= dx
    mon <- floor(as.numeric(last - dx) / MONTH)
    kd <- data.frame(mon = mon[usable], dead = vs[usable] == 2L, cohort = cohort[usable])
    km <- survfit(Surv(mon, dead) ~ cohort, data = kd)
    # KM survival just before month m (events in months < m), read off survfit's step function
    # (summary(times = ) is not used: it returns S at the first time for times before it)
    s_at <- function(m, coh) {
      vapply(seq_along(m), function(j) {
        k <- if (is.null(km$strata)) km else km[paste0("cohort=", coh[j])]
        before <- which(k$time <= m[j] - 0.5)
        if (length(before) == 0) 1 else k$surv[max(before)]
      }, numeric(1))
    }
    L <- which(status == "lost" & usable)
    sp <- s_at(floor(as.numeric(t_index - dx[L]) / MONTH), cohort[L])
    sl <- s_at(mon[L], cohort[L])
    contrib[L] <- ifelse(sl > 0, sp / sl, 0)
  }
  age_t <- as.integer(format(t_index, "%Y")) - as.integer(format(birth, "%Y"))
  ag <- AGE_LABELS[pmin(age_t %/% 5, 17) + 1]

  # population by sex and age group: at least the prevalent people, sometimes tiny
  pop <- expand.grid(age_group = AGE_LABELS, sex = 1:2, stringsAsFactors = FALSE)
  have <- sapply(seq_len(nrow(pop)), function(j) sum(contrib[ag == pop$age_group[j] & sex == pop$sex[j] & status != "after"]))
  pop$population <- ceiling(have) + if (runif(1) < 0.3) sample(0:5, nrow(pop), replace = TRUE) else round(runif(nrow(pop), 50, 20000))
  pop$population[pop$population == 0] <- 1
  pops[[i]] <- data.frame(case = i, pop)

  for (d in names(starts)) for (s in 1:2) {
    inwin <- dx > starts[[d]] & dx <= t_index & sex == s
    x <- sum(contrib[inwin])
    P <- sum(pop$population[pop$sex == s])
    ci <- suppressWarnings(prop.test(x, P, correct = FALSE, conf.level = 0.95)$conf.int)
    # age-standardised proportion over age at t, weights renormalised over groups with population
    xa <- sapply(AGE_LABELS, function(a) sum(contrib[inwin & ag == a]))
    pa <- pop$population[pop$sex == s][match(AGE_LABELS, pop$age_group[pop$sex == s])]
    w <- SEGI / sum(SEGI)
    om <- w / pa
    y <- sum(om * xa); v <- sum(om^2 * xa)
    out[[length(out) + 1]] <- data.frame(
      case = i, adjust_lost = adjust, sex = s, duration = d, count = x, n_lost = sum(inwin & status == "lost"),
      n_unknown = sum(inwin & status == "unknown"), population = P, proportion = x / P,
      lower = ci[1], upper = ci[2], asr = y, asr_lower = gamma_lower(y, v, 0.95),
      asr_upper = gamma_upper(y, v, mean(om), mean(om^2), 0.95))
  }
}
write_ref(do.call(rbind, records), "prevalence_records.csv")
write_ref(do.call(rbind, pops), "prevalence_population.csv")
write_ref(do.call(rbind, out), "prevalence_expected.csv")
