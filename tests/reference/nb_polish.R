# MASS::glm.nb to full precision: glm.nb stops its theta iteration at |delta theta| <= eps^(1/4)
# (theta.ml's default), so its estimates carry ~1e-8 relative error. Alternate MASS::theta.ml
# (eps 1e-13) and glm(family = MASS::negative.binomial(theta)) until theta settles: the same
# maximum likelihood estimate as glm.nb, to ~1e-12 where the likelihood is curved in theta.
# Near the Poisson boundary (theta in the tens of thousands) the likelihood is so flat in theta
# that theta only settles to ~1e-5 relative (1/theta to ~1e-10 absolute); the coefficients are
# then still settled. Starts from glm.nb, or from the Poisson fit when glm.nb stops with an
# error. NULL when no fit can be made (the script then records no negative binomial fit).
suppressPackageStartupMessages(library(MASS))
nb_polished <- function(formula, data) {
  fit <- tryCatch(suppressWarnings(glm.nb(formula, data = data, control = glm.control(epsilon = 1e-12, maxit = 100))),
                  error = function(e) NULL)
  if (is.null(fit)) fit <- glm(formula, data = data, family = poisson)
  y <- model.response(model.frame(formula, data))
  th <- if (is.null(fit$theta)) NA else fit$theta
  for (it in 1:60) {
    th_new <- tryCatch(suppressWarnings(theta.ml(y, fitted(fit), limit = 200, eps = 1e-13)), error = function(e) NA)
    if (!is.finite(th_new)) return(NULL)
    new <- tryCatch(suppressWarnings(glm(formula, data = data, family = negative.binomial(th_new), start = coef(fit),
                                         control = glm.control(epsilon = 1e-14, maxit = 400))),
                    error = function(e) NULL)
    if (is.null(new)) return(NULL)
    fit <- new
    done <- is.finite(th) && abs(th_new - th) <= 1e-13 * th_new
    th <- th_new
    if (done) break
  }
  list(fit = fit, theta = as.numeric(th))
}
