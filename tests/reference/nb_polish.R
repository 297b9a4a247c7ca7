# MASS::glm.nb to full precision: glm.nb stops its theta iteration at |delta theta| <= eps^(1/4)
# (theta.ml's default), so its estimates carry ~1e-8 relative error. Alternate MASS::theta.ml
# (eps 1e-13) and glm(family = MASS::negative.binomial(theta)) until theta settles: the same
# maximum likelihood estimate as glm.nb, to ~1e-12.
suppressPackageStartupMessages(library(MASS))
nb_polished <- function(formula, data) {
  fit <- suppressWarnings(glm.nb(formula, data = data, control = glm.control(epsilon = 1e-12, maxit = 100)))
  y <- model.response(model.frame(formula, data))
  th <- fit$theta
  for (it in 1:100) {
    th_new <- suppressWarnings(theta.ml(y, fitted(fit), limit = 200, eps = 1e-13))
    fit <- glm(formula, data = data, family = negative.binomial(th_new), start = coef(fit),
               control = glm.control(epsilon = 1e-15, maxit = 200))
    done <- abs(th_new - th) <= 1e-13 * th_new
    th <- th_new
    if (done) break
  }
  list(fit = fit, theta = as.numeric(th))
}
