# Reference values for analytics.rates: crude rates, age-specific rates and directly
# standardised rates with every CI method, on 300 random inputs (edge cases included: one age
# group, all counts zero, tiny populations, sparse counts).
#
# Packages: epitools::ageadjust.direct (DSR and its Fay-Feuer gamma CI), base R poisson.test
# (exact Poisson limits). By hand from the published formulas (see ../common.R): Tiwari et al.
# (2006) modified gamma limits, Dobson et al. (1991) limits with PHE's Byar or exact limits of
# the total count, normal and log-normal limits.
# Run from the repository root: Rscript tests/reference/rates/make_rates.R
suppressPackageStartupMessages(library(epitools))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261101)

N <- 300
kinds <- c("typical", "sparse", "zero", "tiny", "some_zero")
inputs <- list(); dsr_out <- list(); crude_out <- list(); asp_out <- list()
for (i in seq_len(N)) {
  kind <- sample(kinds, 1, prob = c(0.35, 0.2, 0.1, 0.15, 0.2))
  K <- sample(c(1, 2, 3, 5, 8, 18), 1)
  start <- sample(0:(18 - K), 1)
  ages <- if (runif(1) < 0.7) AGE_LABELS[start + seq_len(K)] else AGE_LABELS[sort(sample(18, K))]
  pop <- switch(kind,
    tiny = round(runif(K, 1, 30)),
    sparse = round(runif(K, 1e3, 1e5)),
    round(runif(K, 1e3, 1e6)))
  rate <- switch(kind,
    tiny = runif(K, 0, 0.5),
    sparse = runif(K, 1e-6, 5e-5),
    exp(runif(K, log(1e-5), log(1e-2))))
  count <- rpois(K, pop * rate)
  if (kind == "zero") count <- rep(0, K)
  if (kind == "some_zero") count[sample(K, ceiling(K / 2))] <- 0
  std <- if (runif(1) < 0.5) round(runif(K, 100, 10000)) else
    c(12000, 10000, 9000, 9000, 8000, 8000, 6000, 6000, 6000, 6000, 5000, 4000, 4000, 3000, 2000, 1000, 500, 500)[match(ages, AGE_LABELS)]
  conf <- rand_conf(1)
  inputs[[i]] <- data.frame(case = i, kind = kind, age_group = ages, count = count, population = pop,
                            std = std, conf = conf)

  # direct standardisation (per person; the test multiplies by 100,000)
  w <- std / sum(std)
  om <- w / pop
  y <- sum(om * count)
  v <- sum(om^2 * count)
  X <- sum(count)
  ff <- ageadjust.direct(count = count, pop = pop, stdpop = std, conf.level = conf)
  z <- qnorm(1 - (1 - conf) / 2)
  dob <- function(xl, xu) if (X > 0) c(y + sqrt(v / X) * (xl - X), y + sqrt(v / X) * (xu - X)) else c(NA, NA)
  db <- dob(byar_lower(X, conf), byar_upper(X, conf))
  de <- dob(exact_lower(X, conf), exact_upper(X, conf))
  dsr_out[[i]] <- data.frame(
    case = i, conf = conf, count = X, crude_rate = ff[["crude.rate"]], value = ff[["adj.rate"]], se = sqrt(v),
    tiwari_lower = gamma_lower(y, v, conf), tiwari_upper = gamma_upper(y, v, mean(om), mean(om^2), conf),
    # epitools gives NaN for the lower limit when every count is 0 (shape 0/0); the limit is 0 there
    fay_feuer_lower = if (X == 0) 0 else ff[["lci"]], fay_feuer_upper = ff[["uci"]],
    dobson_lower = db[1], dobson_upper = db[2], dobson_exact_lower = de[1], dobson_exact_upper = de[2],
    normal_lower = y - z * sqrt(v), normal_upper = y + z * sqrt(v),
    lognormal_lower = if (y > 0) y * exp(-z * sqrt(v) / y) else NA,
    lognormal_upper = if (y > 0) y * exp(z * sqrt(v) / y) else NA)

  # crude rate of the total: exact limits from poisson.test, PHE Byar by hand
  P <- sum(pop)
  pt <- poisson.test(X, P, conf.level = conf)
  crude_out[[i]] <- data.frame(
    case = i, conf = conf, count = X, population = P, value = X / P,
    exact_lower = if (X == 0) 0 else pt$conf.int[1], exact_upper = pt$conf.int[2],
    byar_lower = byar_lower(X, conf) / P, byar_upper = byar_upper(X, conf) / P)

  # age-specific rates, exact limits per age group
  lims <- t(vapply(seq_len(K), function(k) {
    p <- poisson.test(count[k], pop[k], conf.level = conf)$conf.int
    c(if (count[k] == 0) 0 else p[1], p[2])
  }, numeric(2)))
  asp_out[[i]] <- data.frame(case = i, age_group = ages, value = count / pop, lower = lims[, 1], upper = lims[, 2])
}
write_ref(do.call(rbind, inputs), "rates_inputs.csv")
write_ref(do.call(rbind, dsr_out), "dsr_expected.csv")
write_ref(do.call(rbind, crude_out), "crude_expected.csv")
write_ref(do.call(rbind, asp_out), "age_specific_expected.csv")
