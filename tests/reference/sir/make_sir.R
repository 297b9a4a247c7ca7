# Reference values for analytics.rates.isr (SIR/SMR and the indirectly standardised rate) on
# 300 random inputs: one to 18 age groups, zero observed counts, tiny populations.
#
# Packages: epitools::ageadjust.indirect (expected count, SIR and indirectly standardised rate;
# its log-normal limits are not ours and not used), base R poisson.test (exact Poisson limits
# of O for O/E). PHE's Byar limits written out (../common.R).
# Run from the repository root: Rscript tests/reference/sir/make_sir.R
suppressPackageStartupMessages(library(epitools))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "..", "common.R"))
set.seed(20261103)

N <- 300
inputs <- list(); out <- list()
for (i in seq_len(N)) {
  kind <- sample(c("typical", "zero", "tiny", "sparse"), 1, prob = c(0.5, 0.1, 0.2, 0.2))
  K <- sample(c(1, 2, 5, 10, 18), 1)
  ages <- AGE_LABELS[sample(18 - K + 1, 1) - 1 + seq_len(K)]
  refpop <- round(runif(K, 1e4, 1e7))
  refcount <- rpois(K, refpop * exp(runif(K, log(1e-5), log(1e-2)))) + 1
  pop <- if (kind == "tiny") round(runif(K, 1, 50)) else round(runif(K, 1e3, 2e5))
  ratio <- exp(rnorm(1, 0, 0.4))
  count <- if (kind == "zero") rep(0, K) else rpois(K, pop * refcount / refpop * ratio * (if (kind == "sparse") 0.05 else 1))
  conf <- rand_conf(1)
  inputs[[i]] <- data.frame(case = i, kind = kind, age_group = ages, count = count, population = pop,
                            ref_count = refcount, ref_population = refpop, conf = conf)
  # stdrate given explicitly: with one age group ageadjust.indirect would skip computing it
  # (its guard is length(stdcount) > 1) and return an expected count of 0
  ai <- ageadjust.indirect(count = count, pop = pop, stdcount = refcount, stdpop = refpop,
                           stdrate = refcount / refpop, conf.level = conf)
  O <- ai$sir[["observed"]]; E <- ai$sir[["exp"]]
  pt <- poisson.test(O, E, conf.level = conf)$conf.int
  out[[i]] <- data.frame(case = i, conf = conf, observed = O, expected = E, sir = ai$sir[["sir"]],
                         isr = ai$rate[["adj.rate"]],
                         exact_lower = if (O == 0) 0 else pt[1], exact_upper = pt[2],
                         byar_lower = byar_lower(O, conf) / E, byar_upper = byar_upper(O, conf) / E,
                         ref_crude_rate = sum(refcount) / sum(refpop))
}
write_ref(do.call(rbind, inputs), "sir_inputs.csv")
write_ref(do.call(rbind, out), "sir_expected.csv")
