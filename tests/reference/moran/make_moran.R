# Reference values for analytics.spatial.moran and analytics.spatial.lisa on 150 random maps
# (9 to 64 areas; queen/rook lattices and symmetric k-nearest-neighbour graphs; row-standardised
# weights; values with and without spatial trend; counts and populations for the empirical
# Bayes index).
#
# Packages: spdep::moran.test (I, E(I), Var(I) under normality and under randomisation,
# two-sided p-values), spdep::EBImoran.mc (the Assuncao-Reis empirical Bayes index: only its
# statistic, which is deterministic; permutation p-values depend on the random number
# generator and are not compared) and spdep::moran on the paper's standardisation (see
# below), spdep::localmoran (local I_i and the "pysal" quadrants).
# Run from the repository root: Rscript tests/reference/moran/make_moran.R
suppressPackageStartupMessages(library(spdep))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261109)

areas <- list(); maps <- list()
for (s in 1:150) {
  if (runif(1) < 0.6) {
    nr <- sample(3:8, 1); nc <- sample(3:8, 1)
    nb <- cell2nb(nr, nc, type = sample(c("queen", "rook"), 1))
    xy <- as.matrix(expand.grid(seq_len(nr), seq_len(nc)))
  } else {
    n0 <- sample(c(10, 25, 50), 1)
    xy <- cbind(runif(n0), runif(n0))
    nb <- knn2nb(knearneigh(xy, k = sample(3:6, 1)), sym = TRUE)
  }
  n <- length(nb)
  lw <- nb2listw(nb, style = "W")
  trend <- sample(c(0, 0.5, 2), 1)
  x <- rnorm(n) + trend * (xy[, 1] - mean(xy[, 1])) / sd(xy[, 1])
  pop <- round(exp(runif(n, log(500), log(2e5))))
  cnt <- rpois(n, pop * 1e-3 * exp(0.3 * trend * (xy[, 1] - mean(xy[, 1])) / sd(xy[, 1])))
  mr <- moran.test(x, lw, randomisation = TRUE, alternative = "two.sided")
  mn <- moran.test(x, lw, randomisation = FALSE, alternative = "two.sided")
  eb <- suppressMessages(EBImoran.mc(cnt, pop, lw, nsim = 99, subtract_mean_in_numerator = TRUE))
  # EBImoran.mc takes a from EBest, where a < 0 is set to 0 before v_i = a + b/n_i. Assuncao &
  # Reis (1999) keep a and replace only a negative v_i by b/n_i (as esda): that index, by
  # spdep::moran on the z written out, is kept too.
  b <- sum(cnt) / sum(pop); r <- cnt / pop
  a_raw <- sum(pop * (r - b)^2) / sum(pop) - b / mean(pop)
  v <- a_raw + b / pop; v[v < 0] <- b / pop[v < 0]
  z <- (r - b) / sqrt(v)
  eb_paper <- moran(z, lw, n, Szero(lw))$I
  lm_ <- localmoran(x, lw)
  q <- attr(lm_, "quadr")$pysal
  maps[[s]] <- data.frame(set = s, n = n, I = mr$estimate[["Moran I statistic"]], EI = mr$estimate[["Expectation"]],
                          var_rand = mr$estimate[["Variance"]], p_rand = mr$p.value,
                          var_norm = mn$estimate[["Variance"]], p_norm = mn$p.value, eb_I = unname(eb$statistic),
                          eb_a = a_raw, eb_I_paper = eb_paper)
  areas[[s]] <- data.frame(set = s, area = seq_len(n) - 1, x = x, count = cnt, population = pop,
                           Ii = lm_[, "Ii"], quadrant = tolower(as.character(q)),
                           neighbours = vapply(nb, function(v) paste(v[v > 0] - 1, collapse = ";"), ""))
}
write_ref(do.call(rbind, areas), "moran_areas.csv")
write_ref(do.call(rbind, maps), "moran_expected.csv")
