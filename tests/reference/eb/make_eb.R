# Reference values for analytics.spatial.smooth_sir (empirical Bayes smoothing of SIRs) on 120
# random maps (9 to 50 areas; lattice and k-nearest-neighbour contiguity; sparse, typical and
# equidispersed counts).
#
# Packages: spdep::EBest (global Marshall 1991 moment estimator), spdep::EBlocal (local
# estimator over each area and its neighbours, geoda = TRUE: Marshall's formula), MASS::glm.nb (maximum likelihood gamma prior,
# as SpatialEpi's eBayes; polished with theta.ml, ../nb_polish.R). The posterior probability
# P(theta > 1) is pgamma of the Gamma(m^2/A + O, m/A + E) posterior (Clayton & Kaldor 1987),
# written out.
# Run from the repository root: Rscript tests/reference/eb/make_eb.R
suppressPackageStartupMessages({library(spdep); library(MASS)})
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(here, "..", "common.R")); source(file.path(here, "..", "nb_polish.R"))
set.seed(20261108)

random_nb <- function() {
  if (runif(1) < 0.6) {
    nr <- sample(3:7, 1); nc <- sample(3:7, 1)
    cell2nb(nr, nc, type = sample(c("queen", "rook"), 1))
  } else {
    n <- sample(c(10, 25, 50), 1)
    xy <- cbind(runif(n), runif(n))
    knn2nb(knearneigh(xy, k = sample(3:6, 1)), sym = TRUE)
  }
}
areas <- list(); sets <- list()
for (s in 1:120) {
  nb <- random_nb()
  n <- length(nb)
  kind <- sample(c("typical", "sparse", "equidispersed"), 1, prob = c(0.5, 0.25, 0.25))
  E <- exp(runif(n, log(if (kind == "sparse") 0.5 else 5), log(if (kind == "sparse") 10 else 200)))
  theta <- if (kind == "equidispersed") rep(1, n) else rgamma(n, shape = runif(1, 2, 20), rate = 1) 
  theta <- theta / mean(theta) * runif(1, 0.6, 1.6)
  O <- rpois(n, E * theta)
  if (sum(O) == 0) O[1] <- 1
  g <- EBest(O, E)
  pa <- attr(g, "parameters")
  # geoda = TRUE: Marshall's local estimator, s2_i = sum_j n_j (x_j - m_i)^2 / sum_j n_j over i and
  # its neighbours. spdep's default (geoda = FALSE) lags n_j (x_j - m_j)^2, each neighbour centred
  # on its own local mean; that column is kept to show the difference.
  l <- EBlocal(O, E, nb, geoda = TRUE)
  l0 <- EBlocal(O, E, nb)
  lp <- attr(l, "parameters")
  post <- function(m, a, o, e) { m <- rep_len(m, length(o)); a <- rep_len(a, length(o)); ifelse(a > 0, pgamma(1, shape = m^2 / a + o, rate = m / a + e, lower.tail = FALSE),
                                      ifelse(m > 1, 1, ifelse(m < 1, 0, 0.5))) }
  # maximum likelihood prior; on the boundary (no overdispersion) glm.nb runs theta to infinity
  mu0 <- sum(O) / sum(E) * E
  boundary <- sum((O - mu0)^2 - O) <= 0
  if (boundary) {
    # glm.nb itself: theta grows without bound ("iteration limit reached"); kept to show it
    raw <- tryCatch(suppressWarnings(glm.nb(O ~ 1 + offset(log(E)))), error = function(e) NULL)
    th <- if (is.null(raw)) Inf else raw$theta
    m_ml <- if (is.null(raw)) NA else exp(coef(raw)[[1]])
  } else {
    nbfit <- nb_polished(O ~ 1 + offset(log(E)), data.frame(O = O, E = E))
    m_ml <- exp(coef(nbfit$fit)[[1]]); th <- nbfit$theta
  }
  a_ml <- m_ml^2 / th
  areas[[s]] <- data.frame(set = s, area = seq_len(n) - 1, O = O, E = E,
                           global = g$estmm, global_prob = post(pa$b, pa$a, O, E),
                           local = l$est, local_spdep_default = l0$est, local_prob = post(lp$m, lp$a, O, E),
                           ml = if (boundary) NA else (th + O) / (th / m_ml + E),
                           ml_prob = if (boundary) NA else pgamma(1, th + O, th / m_ml + E, lower.tail = FALSE))
  sets[[s]] <- data.frame(set = s, n = n, kind = kind, global_m = pa$b, global_a = pa$a,
                          ml_m = m_ml, ml_theta = th, ml_a = a_ml, boundary = boundary,
                          poisson_m = sum(O) / sum(E))
  areas[[s]]$neighbours <- vapply(nb, function(v) paste(v[v > 0] - 1, collapse = ";"), "")   # 0-based ids
}
write_ref(do.call(rbind, areas), "eb_areas.csv")
write_ref(do.call(rbind, sets), "eb_sets.csv")
