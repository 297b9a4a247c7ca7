# Reference values for analytics.rates.rate_ratio on 300 random pairs of rates.
#
# Crude rates: base R poisson.test(c(O1, O2), c(P1, P2)) (exact conditional binomial interval
# and exact two-sided test; Breslow & Day 1987 section 2.3).
# Standardised rates, by hand from the published formulas (no installed package has them; R
# dsrTest and rateratio.test are not installed): Fay's (1999) F interval with Tiwari et al.'s
# (2006) mean weights or Fay-Feuer's maximum weights, its p-value (the level at which the
# interval touches 1), the log-normal (delta-method) interval, the test-based interval of Boyle
# & Parkin (1991, CanReg5 CalcSRR) and the normal interval and z-test of the difference.
# Run from the repository root: Rscript tests/reference/rateratio/make_rateratio.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261104)

# F quantile through qbeta: R's qf() treats a degree of freedom above 4e5 as infinite (R's
# nmath/qf.c "fudge"), which moves the limits by up to 0.1% when a group has hundreds of
# thousands of cases; qbeta is exact there (and equals qf() elsewhere).
qf_exact <- function(p, d1, d2) {
  if (is.na(d1) || is.na(d2)) return(NA_real_)
  x <- qbeta(p, d1 / 2, d2 / 2)
  (d2 / d1) * x / (1 - x)
}

N <- 300
inputs <- list(); std_out <- list(); crude_out <- list()
for (i in seq_len(N)) {
  kind <- sample(c("typical", "sparse", "zero1", "tiny", "equal", "large"), 1, prob = c(0.4, 0.15, 0.1, 0.15, 0.1, 0.1))
  K <- sample(c(1, 2, 5, 10, 18), 1)
  ages <- AGE_LABELS[sample(18 - K + 1, 1) - 1 + seq_len(K)]
  std <- round(runif(K, 100, 10000))
  base <- exp(runif(K, log(1e-5), log(5e-3)))
  rr <- exp(rnorm(1, 0, 0.5))
  mk <- function(ratio) {
    pop <- switch(kind, tiny = round(runif(K, 1, 40)), large = round(runif(K, 1e6, 3e7)), round(runif(K, 1e3, 3e5)))
    r <- base * ratio * (if (kind == "sparse") 0.05 else 1) * (if (kind == "tiny") 200 else 1)
    list(pop = pop, count = rpois(K, pmin(pop * r, pop)))
  }
  g1 <- mk(rr); g2 <- mk(1)
  if (kind == "zero1") g1$count <- rep(0, K)
  if (kind == "equal") g1 <- g2
  g2$count[1] <- g2$count[1] + 1      # the reference group has at least one case
  conf <- rand_conf(1)
  inputs[[i]] <- rbind(
    data.frame(case = i, kind = kind, group = "1", age_group = ages, count = g1$count, population = g1$pop, std = std, conf = conf),
    data.frame(case = i, kind = kind, group = "2", age_group = ages, count = g2$count, population = g2$pop, std = std, conf = conf))

  w <- std / sum(std)
  st <- function(g) { om <- w / g$pop; list(R = sum(om * g$count), V = sum(om^2 * g$count), wbar = mean(om), w2bar = mean(om^2), wmax = max(om)) }
  a <- st(g1); b <- st(g2)
  z <- qnorm(1 - (1 - conf) / 2); al <- 1 - conf
  fint <- function(w1, w1s, w2, w2s) {
    R1s <- a$R + w1; V1s <- a$V + w1s; R2s <- b$R + w2; V2s <- b$V + w2s
    nu1 <- 2 * a$R^2 / a$V; nu2 <- 2 * b$R^2 / b$V; nu1s <- 2 * R1s^2 / V1s; nu2s <- 2 * R2s^2 / V2s
    lower <- if (a$R > 0) a$R / R2s * qf_exact(al / 2, nu1, nu2s) else 0
    upper <- R1s / b$R * qf_exact(1 - al / 2, nu1s, nu2)
    p_lo <- if (a$R > 0) 2 * pf(R2s / a$R, nu1, nu2s) else 2
    p_hi <- 2 * pf(b$R / R1s, nu1s, nu2, lower.tail = FALSE)
    c(lower, upper, min(1, p_lo, p_hi))
  }
  tw <- fint(a$wbar, a$w2bar, b$wbar, b$w2bar)
  ff <- fint(a$wmax, a$wmax^2, b$wmax, b$wmax^2)
  ratio <- a$R / b$R
  half <- z * sqrt(a$V / a$R^2 + b$V / b$R^2)
  chi <- (a$R - b$R) / sqrt(a$V + b$V)
  tb <- if (!is.na(chi) && chi != 0) sort(c(ratio^(1 - z / chi), ratio^(1 + z / chi))) else c(NA, NA)
  sd <- sqrt(a$V + b$V)
  std_out[[i]] <- data.frame(case = i, conf = conf, rate1 = a$R, rate2 = b$R, ratio = ratio,
    tiwari_lower = tw[1], tiwari_upper = tw[2], tiwari_p = tw[3],
    fay_feuer_lower = ff[1], fay_feuer_upper = ff[2], fay_feuer_p = ff[3],
    lognormal_lower = if (a$R > 0) ratio * exp(-half) else NA, lognormal_upper = if (a$R > 0) ratio * exp(half) else NA,
    test_based_lower = tb[1], test_based_upper = tb[2],
    difference = a$R - b$R, difference_lower = a$R - b$R - z * sd, difference_upper = a$R - b$R + z * sd,
    difference_p = if (sd > 0) 2 * pnorm(-abs(a$R - b$R) / sd) else NA)

  O1 <- sum(g1$count); O2 <- sum(g2$count); P1 <- sum(g1$pop); P2 <- sum(g2$pop)
  pt <- poisson.test(c(O1, O2), c(P1, P2), conf.level = conf)
  crude_out[[i]] <- data.frame(case = i, conf = conf, O1 = O1, O2 = O2, P1 = P1, P2 = P2,
                               ratio = unname(pt$estimate), lower = pt$conf.int[1], upper = pt$conf.int[2],
                               p_value = pt$p.value)
}
write_ref(do.call(rbind, inputs), "rateratio_inputs.csv")
write_ref(do.call(rbind, std_out), "standardised_expected.csv")
write_ref(do.call(rbind, crude_out), "crude_expected.csv")
