# Reference values for analytics.ecological.ecological_regression on 200 random data sets
# (8 to 120 areas, 1 to 3 area-level factors, offset log E; Poisson, overdispersed and
# equidispersed counts, small counts).
#
# Packages: stats::glm(family = poisson) and glm(family = quasipoisson) (summary.glm: Wald z,
# or t on n - p df with the Pearson dispersion), MASS::glm.nb polished to full precision with
# MASS::theta.ml (../nb_polish.R; summary at the estimated theta). The Cameron & Trivedi (1990)
# test is its auxiliary regression by lm (AER::dispersiontest is not installed), one-sided,
# referred to the normal distribution.
# Run from the repository root: Rscript tests/reference/ecological/make_ecological.R
suppressPackageStartupMessages(library(MASS))
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(here, "..", "common.R")); source(file.path(here, "..", "nb_polish.R"))
set.seed(20261110)

data_rows <- list(); coefs <- list(); fits <- list()
# summary.glm reports SEs from the working weights of the last IRLS iteration, one step behind
# the final coefficients (their relative error is that step, ~1e-8 with glm's deviance-based
# convergence test): every fit is refitted from its own estimates so the weights are those at
# the estimate. The negative binomial summary is taken with dispersion 1 (as summary.negbin;
# summary.glm would estimate a dispersion for the negative.binomial(theta) family).
refit <- function(fit, family) {
  glm(formula(fit), data = fit$data, family = family, start = coef(fit), control = glm.control(epsilon = 1e-15, maxit = 100))
}
table_of <- function(s, family, fit, df = NA) {
  co <- if (family == "negbin") summary(fit, dispersion = 1)$coefficients else summary(fit)$coefficients
  est <- co[, 1]; se <- co[, 2]
  stat <- est / se
  p <- if (is.na(df)) 2 * pnorm(-abs(stat)) else 2 * pt(-abs(stat), df)
  data.frame(set = s, family = family, term = c("intercept", paste0("x", seq_len(nrow(co) - 1))),
             estimate = est, se = se, z = stat, p_value = p)
}
for (s in 1:200) {
  n <- sample(c(8, 15, 30, 60, 120), 1)
  k <- sample(1:3, 1)
  if (n <= k + 3) k <- 1
  # inputs rounded to 4 decimals (compact files; the fits use exactly these values)
  X <- round(matrix(rnorm(n * k, sample(c(0, 10), 1), runif(1, 0.5, 3)), n, k), 4)
  E <- round(exp(runif(n, log(if (runif(1) < 0.2) 0.5 else 10), log(300))), 4)
  beta <- rnorm(k, 0, 0.15 / apply(X, 2, sd))
  mu <- E * exp(0.1 + drop(X %*% beta) - sum(colMeans(X) * beta))
  kind <- sample(c("poisson", "overdispersed"), 1, prob = c(0.35, 0.65))
  y <- if (kind == "poisson") rpois(n, mu) else rnbinom(n, size = runif(1, 2, 40), mu = mu)
  d <- data.frame(y = y, E = E, X)
  names(d) <- c("y", "E", paste0("x", seq_len(k)))
  f <- as.formula(paste("y ~", paste(paste0("x", seq_len(k)), collapse = " + "), "+ offset(log(E))"))
  ctl <- glm.control(epsilon = 1e-15, maxit = 100)
  pois <- refit(glm(f, data = d, family = poisson, control = ctl), poisson)
  quasi <- refit(glm(f, data = d, family = quasipoisson, control = ctl), quasipoisson)
  phi <- sum(residuals(pois, type = "pearson")^2) / pois$df.residual
  mu0 <- fitted(pois)
  zct <- ((y - mu0)^2 - y) / mu0
  ct <- summary(lm(zct ~ mu0 - 1))$coefficients
  boundary <- sum((y - mu0)^2 - y) <= 0
  out <- list(table_of(s, "poisson", pois), table_of(s, "quasipoisson", quasi, df = quasi$df.residual))
  theta <- NA; nb_dev <- NA; nb_aic <- NA
  nb <- if (boundary) NULL else nb_polished(f, d)
  if (!is.null(nb)) {
    theta <- nb$theta
    nb$fit <- suppressWarnings(refit(nb$fit, negative.binomial(theta)))
    out[[3]] <- table_of(s, "negbin", nb$fit)
    nb_dev <- deviance(nb$fit)
    nb_aic <- -2 * sum(dnbinom(y, size = theta, mu = fitted(nb$fit), log = TRUE)) + 2 * (k + 2)
  }
  coefs[[s]] <- do.call(rbind, out)
  fits[[s]] <- data.frame(set = s, n = n, k = k, kind = kind, boundary = boundary,
                          poisson_deviance = deviance(pois), poisson_aic = AIC(pois), dispersion = phi,
                          ct_alpha = ct[1, 1], ct_t = ct[1, 3], ct_p = pnorm(-ct[1, 3]),
                          theta = theta, negbin_deviance = nb_dev, negbin_aic = nb_aic)
  data_rows[[s]] <- data.frame(set = s, d)
}
all_cols <- unique(unlist(lapply(data_rows, names)))
data_rows <- lapply(data_rows, function(x) { for (c in setdiff(all_cols, names(x))) x[[c]] <- NA; x[all_cols] })
write_ref(do.call(rbind, data_rows), "ecological_data.csv")
write_ref(do.call(rbind, coefs), "ecological_coefficients.csv")
write_ref(do.call(rbind, fits), "ecological_fits.csv")
