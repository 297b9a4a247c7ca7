# Reference values for analytics.survival.age_standardised / age_standardised_curve: ICSS age-standardised
# net (Pohar Perme) and relative (Ederer II) survival, written here independently of the Python code.
# Age-specific estimates by relsurv 2.2-9 rs.surv in the five ICSS age groups (15-44, 45-54, 55-64,
# 65-74, 75-99) of datasets of ../survival/inputs.csv (life table ../survival/lifetable_a.csv); then
#   S_std(t) = sum_k w_k S_k(t),  Var = sum_k w_k^2 (S_k se_k)^2,  se_k = log(upper_k / lower_k) / (2 z)
#   CI = S_std exp(+- z sqrt(Var) / S_std)   (Corazziari, Quinn & Capocaccia 2004 weights).
# Run from this folder:  Rscript make_standardised.R   (writes expected_std.csv)
suppressMessages(library(relsurv))
stopifnot(packageVersion("relsurv") == "2.2.9")
options(digits = 15, scipen = 100)
DAY_YEAR <- 365.241
TIMES <- c(6, 12, 30, 60, 90, 120) / 12          # on the monthly grid of the Survival page's curve
W <- list(ICSS1 = c(0.07, 0.12, 0.23, 0.29, 0.29), ICSS2 = c(0.28, 0.17, 0.21, 0.20, 0.14))
z <- qnorm(0.975)
inputs <- read.csv("../survival/inputs.csv", stringsAsFactors = FALSE)
lt <- read.csv("../survival/lifetable_a.csv")
yrs <- sort(unique(lt$year))
px <- function(s) sapply(yrs, function(y) 1 - lt$qx[lt$sex == s & lt$year == y][order(lt$age[lt$sex == s & lt$year == y])])
rt <- transrate(px(1), px(2), yearlim = range(yrs), int.length = 1)
icss <- function(a) cut(a, c(15, 45, 55, 65, 75, 100), right = FALSE, labels = c("15-44", "45-54", "55-64", "65-74", "75-99"))
res <- list()
for (name in c("n3000", "n8000", "strata")) {
  d <- inputs[inputs$dataset == name, ]
  d$date <- as.Date(d$date); d$icss <- icss(d$age)
  for (g in sort(unique(d$grp))) {
    dg <- d[d$grp == g, ]
    for (m in c("pohar-perme", "ederer2")) {
      # one fit per age group (a factor in rs.surv's formula is dummy-coded into odd strata)
      spec <- do.call(rbind, lapply(levels(dg$icss), function(a) {
        da <- dg[!is.na(dg$icss) & dg$icss == a, ]
        f <- rs.surv(Surv(time, status) ~ 1, data = da, ratetable = rt, method = m, conf.type = "log",
                     rmap = list(age = age * 365.241, sex = sex, year = date))
        tt <- TIMES[TIMES * DAY_YEAR <= max(f$time)]         # no value past the last observed time
        s <- summary(f, times = tt * DAY_YEAR)
        data.frame(icss = a, time = s$time / DAY_YEAR, S = s$surv, se = log(s$upper / s$lower) / (2 * z))
      }))
      for (std in names(W)) {
        w <- setNames(W[[std]], c("15-44", "45-54", "55-64", "65-74", "75-99"))
        for (tt in TIMES) {
          x <- spec[abs(spec$time - tt) < 1e-9, ]
          if (nrow(x) < 5) next                   # an age group without an estimate: no standardised value
          est <- sum(w[x$icss] * x$S)
          se <- sqrt(sum((w[x$icss] * x$S * x$se)^2)) / est
          res[[length(res) + 1]] <- data.frame(dataset = name, grp = g, method = sub("-", "_", m), standard = std,
                                               time = tt, estimate = est, lower = est * exp(-z * se),
                                               upper = est * exp(z * se))
        }
      }
    }
  }
}
out <- do.call(rbind, res)
write.csv(out, "expected_std.csv", row.names = FALSE)
cat(nrow(out), "standardised reference rows\n")
