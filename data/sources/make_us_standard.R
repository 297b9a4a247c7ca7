# The Brass standard for the demo life table (data/demo/lifetable.csv): the United States 2010 life
# table by sex and single year of age 0-100, as shipped in R's survival package (survexp.us, daily
# hazards from the NCHS US life tables; US government work, public domain). Run: Rscript make_us_standard.R
suppressMessages(library(survival))
h <- survexp.us[as.character(0:100), , "2010"]
out <- data.frame(age = rep(0:100, 2), sex = rep(1:2, each = 101),
                  qx = round(1 - exp(-365.25 * c(h[, "male"], h[, "female"])), 8))
write.csv(out, "us_lifetable_2010_survexp.csv", row.names = FALSE)
cat(sprintf("survival %s: %d rows\n", packageVersion("survival"), nrow(out)))
