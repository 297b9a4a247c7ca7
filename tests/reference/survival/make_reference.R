# Reference values for analytics.survival from R: relsurv 2.2-9 (rs.surv: Pohar Perme, Ederer II)
# and survival (survfit: Kaplan-Meier). Run from this folder:  Rscript make_reference.R
# Writes the inputs and outputs beside this script (CSV); the Python tests read only those files.
# R 4.2 / relsurv 2.2-9 / survival 3.5-3 (Debian r-cran-relsurv, r-cran-survival).
suppressMessages(library(relsurv))
stopifnot(packageVersion("relsurv") == "2.2.9")
options(digits = 15, scipen = 100)
REPORT <- c(1, 3, 5, 10)
DAY_YEAR <- 365.241

# --- life tables: synthetic Gompertz-Makeham qx by single year 0..100 (100 = open), improving by year
make_lt <- function(years, improve) {
  ages <- 0:100
  out <- do.call(rbind, lapply(years, function(y) do.call(rbind, lapply(1:2, function(s) {
    a <- if (s == 1) 0.0004 else 0.00025
    h <- (a + 0.00003 * exp(0.095 * ages) * (if (s == 1) 1.3 else 1)) * (1 - improve)^(y - years[1])
    h[1] <- h[1] + 0.01                                     # infant mortality
    data.frame(year = y, sex = s, age = ages, qx = round(1 - exp(-h), 8))
  }))))
  out$qx <- pmin(out$qx, 0.95)
  out
}
lt_a <- make_lt(2000:2025, 0.015)          # covers all follow-up
lt_b <- make_lt(2005:2015, 0.03)           # narrow: years before/after use the nearest year
write.csv(lt_a, "lifetable_a.csv", row.names = FALSE)
write.csv(lt_b, "lifetable_b.csv", row.names = FALSE)
ratetable_of <- function(lt) {
  yrs <- sort(unique(lt$year))
  px <- function(s) sapply(yrs, function(y) 1 - lt$qx[lt$sex == s & lt$year == y][order(lt$age[lt$sex == s & lt$year == y])])
  transrate(px(1), px(2), yearlim = range(yrs), int.length = 1)
}
RT <- list(a = ratetable_of(lt_a), b = ratetable_of(lt_b))

# --- datasets --------------------------------------------------------------------------------
decimal_year <- function(d) {
  y <- as.numeric(format(d, "%Y"))
  start <- as.Date(sprintf("%d-01-01", y)); n <- as.numeric(as.Date(sprintf("%d-01-01", y + 1)) - start)
  y + as.numeric(d - start) / n
}
sim <- function(name, n, seed, age = c(15, 99), diag = c("2000-01-01", "2012-12-31"), close = "2024-12-31",
                median = 4, cure = 0.3, lost = 0.05, ties = 1, sex = c(1, 2), lt = "a", grp = 1,
                approach = "cohort", period = c(NA, NA), dates = NULL, ages = NULL) {
  set.seed(seed)
  d0 <- as.Date(diag[1]); d1 <- as.Date(diag[2])
  date <- if (is.null(dates)) d0 + floor(runif(n) * as.numeric(d1 - d0 + 1)) else dates
  a <- if (is.null(ages)) round(runif(n, age[1], age[2]), 6) else ages
  s <- if (length(sex) == 1) rep(sex, n) else sample(sex, n, replace = TRUE)
  g <- sample(seq_len(grp), n, replace = TRUE)
  t_death <- ifelse(runif(n) < cure, Inf, rexp(n, log(2) / (median * 365.25 / g)))
  t_other <- rexp(n, 0.00004 * exp(0.085 * a) / 365.25)       # other causes, per day
  t_lost <- ifelse(runif(n) < lost, runif(n, 1, 6000), Inf)
  t_close <- as.numeric(as.Date(close) - date)
  t <- pmin(t_death, t_other, t_lost, t_close)
  st <- as.integer(pmin(t_death, t_other) <= pmin(t_lost, t_close))
  t <- pmax(1, ceiling(t / ties) * ties)
  data.frame(dataset = name, id = seq_len(n), time = t, status = st, age = a, sex = s,
             year = sprintf("%.12f", decimal_year(date)), date = format(date), grp = g,
             lifetable = lt, approach = approach, p0 = period[1], p1 = period[2], stringsAsFactors = FALSE)
}
leap_dates <- as.Date(c("2004-02-28", "2004-02-29", "2004-03-01", "2007-12-31", "2008-01-01", "2008-02-29",
                        "2011-12-31", "2012-02-29", "2012-03-01", "2015-12-31", "2016-02-29", "2003-02-28"))
D <- list(
  sim("tiny", 6, 1, ties = 1, age = c(60, 80)),
  sim("small_ties", 15, 2, ties = 90),
  sim("small_old", 12, 3, age = c(85, 99), cure = 0.1),
  sim("n50", 50, 4),
  sim("n200_young", 200, 5, age = c(15, 40), cure = 0.6),
  sim("n200_old", 200, 6, age = c(80, 99), median = 2),
  sim("n500_ties30", 500, 7, ties = 30),
  sim("n1000", 1000, 8),
  sim("n3000", 3000, 9, median = 6, cure = 0.4),
  sim("n8000", 8000, 10, diag = c("2000-01-01", "2018-12-31"), median = 3),
  sim("heavy_censoring", 800, 11, lost = 0.6),
  sim("all_deaths", 300, 12, cure = 0, median = 1.5, lost = 0, close = "2040-12-31"),
  sim("few_deaths", 400, 13, cure = 0.95, age = c(20, 60)),
  sim("men_only", 600, 14, sex = 1),
  sim("women_only", 600, 15, sex = 2),
  sim("strata", 1500, 16, grp = 3),
  sim("nearest_year", 700, 17, lt = "b", diag = c("2000-01-01", "2016-12-31")),
  sim("leap_years", 240, 18, dates = rep(leap_dates, 20), ages = c(rep(c(60, 70, 80, 50.5, 99, 0.5 + 64), 40))),
  sim("integer_ages", 300, 19, ages = rep(15:99, length.out = 300)),
  sim("over_top_age", 300, 20, age = c(93, 99.9), median = 6, cure = 0.5, close = "2024-12-31"),
  sim("short_followup", 200, 21, diag = c("2023-06-01", "2024-06-30")),
  sim("period_small", 60, 22, diag = c("2005-01-01", "2016-12-31"), approach = "period", period = c(2014, 2016)),
  sim("period_large", 4000, 23, diag = c("2003-01-01", "2018-12-31"), approach = "period", period = c(2015, 2019)),
  sim("period_strata", 2000, 24, diag = c("2006-01-01", "2018-12-31"), approach = "period", period = c(2012, 2016), grp = 2)
)
inputs <- do.call(rbind, D)
write.csv(inputs, "inputs.csv", row.names = FALSE)

# --- estimates ---------------------------------------------------------------------------------
row_at <- function(tis, surv, lower, upper, nrisk, nevent, times = REPORT * DAY_YEAR) {
  # relsurv / summary.survfit: value at the largest time <= t, n.risk at the next time, events in (t_prev, t]
  out <- NULL; prev <- 0
  for (tt in times) {
    if (tt > max(tis)) break
    i <- findInterval(tt, tis)
    nxt <- min(i + 1, length(tis))
    ev <- sum(nevent[tis > prev & tis <= tt])
    out <- rbind(out, data.frame(time = tt / DAY_YEAR, estimate = if (i == 0) 1 else surv[i],
                                 lower = if (i == 0) 1 else lower[i], upper = if (i == 0) 1 else upper[i],
                                 n_risk = nrisk[nxt], events = ev))
    prev <- tt
  }
  out
}
summ <- function(fit) {
  times <- REPORT[REPORT * DAY_YEAR <= max(fit$time)] * DAY_YEAR
  if (length(times) == 0) return(NULL)           # no follow-up reaches 1 year: no row at all
  s <- summary(fit, times = times)
  st <- if (is.null(s$strata)) rep("1", length(s$time)) else sub(".*=", "", as.character(s$strata))
  data.frame(grp = st, time = s$time / DAY_YEAR, estimate = s$surv, lower = s$lower, upper = s$upper,
             n_risk = s$n.risk, events = s$n.event)
}
period_data <- function(d) {
  date <- as.Date(d$date)
  start <- as.Date(sprintf("%d-01-01", d$p0[1])); end <- as.Date(sprintf("%d-01-01", d$p1[1] + 1))
  exit <- pmin(d$time, as.numeric(end - date))
  status <- ifelse(d$time > as.numeric(end - date), 0L, d$status)
  entry <- pmax(as.numeric(start - date), 0)
  keep <- date < end & exit > entry
  data.frame(d[keep, ], entry = entry[keep], exit = exit[keep], st = status[keep])
}
period_fit <- function(p, rt, method) {
  # relsurv's own C routine (netfastpinter2, as rs.surv calls it) with delayed entry ys; rs.surv 2.2-9
  # itself passes no entry times. ys = entry + 0.5: at risk on (t_{j-1}, t_j] when entry < t_j.
  x <- cbind(p$age * DAY_YEAR, p$sex, as.numeric(as.Date(p$date) - as.Date("1960-01-01")))
  tis <- sort(unique(p$exit))
  e <- relsurv:::exp.prep(x, p$exit, rt, p$st, times = tis, fast = TRUE, ys = p$entry + 0.5, prec = 1)
  yi <- sapply(tis, function(t) sum(p$exit >= t & p$entry < t))
  if (method == "pohar_perme") {
    haz <- e$dnisi / e$yisi - e$yidlisiw; se <- sqrt(cumsum(e$dnisisq / e$yisi^2))
  } else {
    haz <- (e$dni - e$yidli) / yi; se <- sqrt(cumsum(e$dni / yi^2))
  }
  surv <- cumprod(1 - haz); z <- qnorm(0.975)
  list(tis = tis, surv = surv, lower = surv * exp(-z * se), upper = surv * exp(z * se), nrisk = yi, nevent = e$dni)
}
res <- list(); curves <- list()
for (d in split(inputs, factor(inputs$dataset, levels = unique(inputs$dataset)))) {
  name <- d$dataset[1]; rt <- RT[[d$lifetable[1]]]
  d$date <- as.Date(d$date); d$age <- as.numeric(d$age)
  if (d$approach[1] == "period") {
    p <- period_data(d)
    for (g in sort(unique(p$grp))) {
      pg <- p[p$grp == g, ]
      for (m in c("pohar_perme", "ederer2")) {
        f <- period_fit(pg, rt, m)
        r <- row_at(f$tis, f$surv, f$lower, f$upper, f$nrisk, f$nevent)
        if (!is.null(r)) res[[length(res) + 1]] <- data.frame(dataset = name, method = m, grp = as.character(g), r)
      }
      km <- survfit(Surv(entry, exit, st) ~ 1, data = pg)
      res[[length(res) + 1]] <- data.frame(dataset = name, method = "observed", summ(km))
      res[[length(res)]]$grp <- as.character(g)
    }
    next
  }
  form <- if (length(unique(d$grp)) > 1) Surv(time, status) ~ grp else Surv(time, status) ~ 1
  for (m in c("pohar-perme", "ederer2")) {
    f <- rs.surv(form, data = d, ratetable = rt, method = m, conf.type = "log",
                 rmap = list(age = age * 365.241, sex = sex, year = date))
    sf <- summ(f)
    if (!is.null(sf)) res[[length(res) + 1]] <- data.frame(dataset = name, method = sub("-", "_", m), sf)
    if (nrow(d) <= 50) curves[[length(curves) + 1]] <- data.frame(dataset = name, method = sub("-", "_", m),
      time = f$time, estimate = f$surv, lower = f$lower, upper = f$upper, n_risk = f$n.risk, events = f$n.event)
  }
  km <- survfit(form, data = d, conf.type = "log")
  sk <- summ(km)
  if (!is.null(sk)) res[[length(res) + 1]] <- data.frame(dataset = name, method = "observed", sk)
}
# sanity: the C routine called directly with ys = 0 is rs.surv itself
chk <- inputs[inputs$dataset == "n200_old", ]; chk$date <- as.Date(chk$date)
chk$entry <- 0; chk$exit <- chk$time; chk$st <- chk$status
a <- period_fit(chk, RT$a, "pohar_perme")
b <- rs.surv(Surv(time, status) ~ 1, data = chk, ratetable = RT$a, rmap = list(age = age * 365.241, sex = sex, year = date))
stopifnot(max(abs(a$surv - b$surv)) < 1e-12)
out <- do.call(rbind, res)
write.csv(out[, c("dataset", "method", "grp", "time", "estimate", "lower", "upper", "n_risk", "events")],
          "expected.csv", row.names = FALSE)
write.csv(do.call(rbind, curves), "curves.csv", row.names = FALSE)
cat(nrow(out), "reference rows,", length(unique(out$dataset)), "datasets\n")
