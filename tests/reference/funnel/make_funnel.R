# Reference values for analytics.rates.funnel_limits.
#
# No installed R package draws funnel limits (FunnelPlotR is not in Debian), so they are
# written out here in base R from Spiegelhalter (2005, Stat Med 24:1185): exact Poisson limits
# with interpolation, r_p = qpois(p, lambda), a = (F(r_p) - p) / (F(r_p) - F(r_p - 1)),
# limit = (r_p - a) / x; and the additive random-effects limits of Spiegelhalter (2005, QSHC
# 14:347) on square-root transformed z-scores Winsorised at 10% (R's default quantile type 7).
# 400 expected counts / person-years (0.01 to 100,000) and 150 sets of units for
# overdispersion (including sets that are not overdispersed).
# Run from the repository root: Rscript tests/reference/funnel/make_funnel.R
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261105)

interp <- function(p, lam) {
  r <- qpois(p, lam)
  F <- ppois(r, lam); Fm <- ppois(r - 1, lam)
  r - (F - p) / (F - Fm)
}
N <- 400
x <- exp(runif(N, log(0.01), log(1e5)))
kind <- sample(c("ratio", "rate"), N, replace = TRUE)
target <- ifelse(kind == "ratio", exp(runif(N, log(0.5), log(2))), exp(runif(N, log(1), log(500))))
conf <- rand_conf(N)
M <- 1e5
lam <- ifelse(kind == "ratio", target * x, target / M * x)
scale <- ifelse(kind == "ratio", 1, M)
lower <- pmax(interp((1 - conf) / 2, lam) / x * scale, 0)
upper <- interp(1 - (1 - conf) / 2, lam) / x * scale
write_ref(data.frame(unit = seq_len(N), kind = kind, x = x, target = target, conf = conf, lower = lower, upper = upper),
          "funnel_expected.csv")

# overdispersion: sets of units with O, E
units <- list(); sets <- list()
for (s in 1:150) {
  n <- sample(c(5, 10, 20, 50, 100), 1)
  E <- exp(runif(n, log(1), log(500)))
  tau <- sample(c(0, 0, 0.1, 0.3), 1)
  theta <- exp(rnorm(n, 0, tau))
  O <- rpois(n, E * theta)
  target <- 1
  y <- sqrt(O / E); sdv <- 1 / (2 * sqrt(E)); z <- (y - sqrt(target)) / sdv
  q <- quantile(z, c(0.1, 0.9), names = FALSE)
  zw <- pmin(pmax(z, q[1]), q[2])
  phi <- mean(zw^2)
  w <- 1 / sdv^2
  tau2 <- max(0, (n * phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w)))
  od <- phi > 1 + 2 * sqrt(2 / n)
  cf <- sample(c(0.95, 0.998), 1)
  zq <- qnorm(1 - (1 - cf) / 2)
  if (od) {
    s_ <- sqrt(1 / (4 * E) + tau2)
    lo <- pmax(sqrt(target) - zq * s_, 0)^2; hi <- (sqrt(target) + zq * s_)^2
  } else {
    lo <- pmax(interp((1 - cf) / 2, target * E) / E, 0); hi <- interp(1 - (1 - cf) / 2, target * E) / E
  }
  units[[s]] <- data.frame(set = s, O = O, E = E, lower = lo, upper = hi)
  sets[[s]] <- data.frame(set = s, n = n, conf = cf, phi = phi, tau2 = tau2, overdispersed = od)
}
write_ref(do.call(rbind, units), "overdispersion_units.csv")
write_ref(do.call(rbind, sets), "overdispersion_sets.csv")
