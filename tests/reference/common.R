# Shared helpers of the reference scripts (tests/reference/<family>/make_<family>.R).
#
# Each script is run from the repository root, on a machine with Debian's R packages
# (r-base-core, r-cran-epitools, r-cran-spdep, r-cran-survival, r-cran-segmented, r-cran-mass):
#     Rscript tests/reference/<family>/make_<family>.R
# It draws its random inputs from a fixed seed and writes them, with R's results, as CSV beside
# itself. write.csv stores numbers with 15 significant digits. Tests never call R.
#
# Where no installed R package implements a formula (Tiwari, Dobson, PHE's Byar, funnel limits,
# cumulative risk, ...), it is written out below from the published formula, in base R, and the
# script says so; everything else calls the package.

ref_dir <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f))
}

write_ref <- function(df, name) {
  path <- file.path(ref_dir(), name)
  utils::write.csv(df, path, row.names = FALSE, na = "NA")
  cat("wrote", path, nrow(df), "rows\n")
}

# Exact (Garwood 1936) Poisson limits for a count, as base R's poisson.test: qgamma(a/2, x) and
# qgamma(1 - a/2, x + 1); 0 below when x = 0.
exact_lower <- function(x, conf) ifelse(x > 0, qgamma((1 - conf) / 2, pmax(x, 1e-300)), 0)
exact_upper <- function(x, conf) qgamma(1 - (1 - conf) / 2, x + 1)

# Byar's approximation as Breslow & Day (1987) vol. II p. 69 and PHEindicatormethods
# (byars_lower/byars_upper; a negative or undefined lower limit is NA). Written out by hand:
# epitools' pois.byar is a different variant (x + 0.5 in both limits).
byar_lower <- function(x, conf) {
  z <- qnorm(1 - (1 - conf) / 2)
  l <- x * (1 - 1 / (9 * x) - z / (3 * sqrt(x)))^3
  ifelse(x > 0 & !is.na(l) & l >= 0, l, NA)
}
byar_upper <- function(x, conf) {
  z <- qnorm(1 - (1 - conf) / 2)
  (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * sqrt(x + 1)))^3
}

# Gamma limits of a weighted sum of Poisson counts y with variance v (Fay & Feuer 1997); the
# upper limit adds w to y and w2 to v: max weight and its square (Fay-Feuer) or the mean weight
# and the mean squared weight (Tiwari, Clegg & Zou 2006, Stat Methods Med Res 15:547, the
# "tcz" form of R dsrTest, which is not installed on this machine).
gamma_lower <- function(y, v, conf) ifelse(y > 0 & v > 0, qgamma((1 - conf) / 2, shape = y^2 / v, scale = v / y), 0)
gamma_upper <- function(y, v, w, w2, conf) {
  qgamma(1 - (1 - conf) / 2, shape = (y + w)^2 / (v + w2), scale = (v + w2) / (y + w))
}

rand_conf <- function(n) sample(c(0.90, 0.95, 0.99, 0.998), n, replace = TRUE)

AGE_LABELS <- c(paste0(seq(0, 80, 5), "-", seq(4, 84, 5)), "85+")
