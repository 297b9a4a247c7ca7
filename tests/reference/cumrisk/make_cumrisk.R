# Reference values for analytics.rates.cumulative_risk on 300 random inputs.
#
# No installed R package computes the cumulative rate (Rcan is not in Debian), so it is written
# out here from Day (1987) and Jensen et al. (1991, IARC Sci Publ 95, ch. 11; CI5):
# cumulative rate 100 * sum(t_i d_i / P_i) over the 5-year age groups starting at or below 74,
# risk 100 * (1 - exp(-rate / 100)), SE of the rate 100 * sqrt(sum(t_i^2 d_i / P_i^2)), SE of the
# risk by the delta method, limits: Tiwari (or Fay-Feuer) gamma limits of sum(t_i d_i / P_i)
# moved to the risk scale (../common.R).
# Run from the repository root: Rscript tests/reference/cumrisk/make_cumrisk.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261102)

N <- 300
inputs <- list(); out <- list()
for (i in seq_len(N)) {
  kind <- sample(c("typical", "sparse", "zero", "tiny", "one_group"), 1, prob = c(0.4, 0.2, 0.1, 0.15, 0.15))
  if (kind == "one_group") {
    ages <- AGE_LABELS[sample(15, 1)]
  } else {
    first <- sample(c(1, 1, 1, 5, 7), 1)
    last <- sample(c(15, 16, 18), 1)
    ages <- AGE_LABELS[first:last]
  }
  K <- length(ages)
  pop <- if (kind == "tiny") round(runif(K, 1, 40)) else round(runif(K, 5e2, 5e5))
  rate <- switch(kind, tiny = runif(K, 0, 0.3), sparse = runif(K, 1e-6, 3e-5), exp(runif(K, log(1e-5), log(3e-2))))
  count <- if (kind == "zero") rep(0, K) else rpois(K, pop * rate)
  conf <- rand_conf(1)
  inputs[[i]] <- data.frame(case = i, kind = kind, age_group = ages, count = count, population = pop, conf = conf)

  start <- as.numeric(sub("[-+].*$", "", ages))
  use <- start <= 74
  d <- count[use]; P <- pop[use]; t <- rep(5, sum(use))
  om <- t / P
  y <- sum(om * d); v <- sum(om^2 * d)
  rate100 <- 100 * y
  se100 <- 100 * sqrt(v)
  lims <- function(l, u) c(100 * (1 - exp(-l)), 100 * (1 - exp(-u)))
  tw <- lims(gamma_lower(y, v, conf), gamma_upper(y, v, mean(om), mean(om^2), conf))
  ff <- lims(gamma_lower(y, v, conf), gamma_upper(y, v, max(om), max(om)^2, conf))
  out[[i]] <- data.frame(case = i, conf = conf, count = sum(d), cum_rate = rate100, cum_rate_se = se100,
                         cum_risk = 100 * (1 - exp(-rate100 / 100)), se = exp(-rate100 / 100) * se100,
                         tiwari_lower = tw[1], tiwari_upper = tw[2], fay_feuer_lower = ff[1], fay_feuer_upper = ff[2])
}
write_ref(do.call(rbind, inputs), "cumrisk_inputs.csv")
write_ref(do.call(rbind, out), "cumrisk_expected.csv")
