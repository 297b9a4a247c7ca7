# Reference values for analytics.trends (log-linear APC) and analytics.joinpoint with fixed
# joinpoints, on 300 random series (3 to 30 years, unweighted or weighted by R^2/SE^2 as
# SEER*Stat, 0 to 3 joinpoints at admissible years).
#
# Packages: stats::lm (APC: slope of ln(rate) on year, t on n - 2 df); segmented::segmented
# with the joinpoints fixed (seg.control(it.max = 0)) for the continuous fit, its fitted values
# and segment slopes (cumulative sums of its coefficients). Joinpoint's segment CIs are Lerman's (1980): the points on
# joinpoints dropped, one line per segment, pooled residual variance (NCI Joinpoint help), i.e.
# lm(ln(rate) ~ 0 + segment + segment:year) on those points. AAPC and its CI (Clegg et al.
# 2009) from those slopes, written out. The choice of the number of joinpoints is tested
# elsewhere (against Joinpoint output).
# Run from the repository root: Rscript tests/reference/trends/make_trends.R
suppressPackageStartupMessages(library(segmented))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261106)

admissible <- function(n, k) {
  if (k == 0) return(integer(0))
  cand <- 3:(n - 2)                         # 1-based positions with >= 2 points before and after
  for (try in 1:200) {
    s <- sort(sample(cand, k))
    if (length(s) == k && all(diff(s) - 1 >= 2)) return(s)
  }
  NULL
}
N <- 300
series <- list(); apc <- list(); segs <- list(); fits <- list()
for (i in seq_len(N)) {
  n <- sample(c(3, 4, 5, 8, 12, 20, 30), 1)
  year <- 2000 + seq_len(n) - 1 + sample(0:20, 1)
  k <- if (n >= 7) sample(0:min(3, (n - 3) %/% 3), 1) else 0
  pos <- admissible(n, k)
  if (is.null(pos)) { k <- 0; pos <- integer(0) }
  knots <- year[pos]
  slopes <- rnorm(k + 1, 0, 0.05)
  eta <- log(runif(1, 0.5, 200)) + slopes[1] * (year - year[1])
  for (j in seq_len(k)) eta <- eta + (slopes[j + 1] - slopes[j]) * pmax(year - knots[j], 0)
  rate <- exp(eta + rnorm(n, 0, runif(1, 0.001, 0.1)))
  weighted <- runif(1) < 0.4
  se <- if (weighted) rate * runif(n, 0.01, 0.2) else rep(NA, n)
  w <- if (weighted) rate^2 / se^2 else rep(1, n)
  conf <- sample(c(0.90, 0.95, 0.99), 1)
  series[[i]] <- data.frame(series = i, year = year, rate = rate, se = se, conf = conf,
                            joinpoints = paste(knots, collapse = ";"))
  ly <- log(rate)
  # log-linear APC over the whole series
  fit <- lm(ly ~ year, weights = w)
  co <- summary(fit)$coefficients
  df <- n - 2
  tq <- qt(0.5 + conf / 2, df)
  b <- co["year", "Estimate"]; sb <- co["year", "Std. Error"]
  apc[[i]] <- data.frame(series = i, apc = 100 * expm1(b), lower = 100 * expm1(b - tq * sb),
                         upper = 100 * expm1(b + tq * sb), p_value = 2 * pt(-abs(b / sb), df), slope = b, se = sb)
  if (n < 7) next
  # continuous fit with fixed joinpoints (segmented) and Lerman's segment SEs
  if (k > 0) {
    # segmented() resets R's global seed (seg.control(seed = 12345)): keep this script's stream
    saved <- .Random.seed
    sg <- segmented(lm(ly ~ year, weights = w), seg.Z = ~year, psi = knots, control = seg.control(it.max = 0))
    assign(".Random.seed", saved, envir = globalenv())
    stopifnot(max(abs(sg$psi[, "Est."] - knots)) < 1e-12)
    fitted_ly <- fitted(sg)
    # segment slopes = cumulative sums of the year and U coefficients (what slope() reports;
    # slope() itself fails on a fit whose breakpoints were fixed with it.max = 0)
    cf <- coef(sg)
    est <- cumsum(c(cf[["year"]], cf[paste0("U", seq_len(k), ".year")]))
  } else {
    fitted_ly <- fitted(fit); est <- b
  }
  segment <- findInterval(year, knots, left.open = TRUE) + 1
  keep <- !(year %in% knots)
  if (k > 0) {
    sf <- factor(segment[keep])
    lm_l <- lm(ly[keep] ~ 0 + sf + sf:year[keep], weights = w[keep])
  } else {
    lm_l <- fit
  }
  cl <- summary(lm_l)$coefficients
  sl <- cl[grep("year", rownames(cl)), , drop = FALSE]
  dfl <- lm_l$df.residual
  tl <- qt(0.5 + conf / 2, dfl)
  edges <- c(min(year), knots, max(year))
  segs[[i]] <- data.frame(series = i, segment = seq_len(k + 1), start = edges[-length(edges)], end = edges[-1],
                          slope = est, se = sl[, "Std. Error"], df = dfl,
                          apc = 100 * expm1(est), lower = 100 * expm1(est - tl * sl[, "Std. Error"]),
                          upper = 100 * expm1(est + tl * sl[, "Std. Error"]),
                          p_value = 2 * pt(-abs(est / sl[, "Std. Error"]), dfl))
  lw <- diff(edges)
  bbar <- sum(lw * est) / sum(lw)
  v <- sum(lw^2 * sl[, "Std. Error"]^2) / sum(lw)^2
  q <- if (k == 0) tl else qnorm(0.5 + conf / 2)
  segs[[i]]$aapc <- 100 * expm1(bbar)
  segs[[i]]$aapc_lower <- 100 * expm1(bbar - q * sqrt(v))
  segs[[i]]$aapc_upper <- 100 * expm1(bbar + q * sqrt(v))
  fits[[i]] <- data.frame(series = i, year = year, fitted = exp(fitted_ly))
}
write_ref(do.call(rbind, series), "trend_series.csv")
write_ref(do.call(rbind, apc), "apc_expected.csv")
write_ref(do.call(rbind, segs), "joinpoint_segments_expected.csv")
write_ref(do.call(rbind, fits), "joinpoint_fitted_expected.csv")
