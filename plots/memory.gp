# Memory: peak and end resident set of each cell's worker process, and bytes the pool held in
# reserve (tmempool only), per workload at its highest thread count; medians.
# Data: three files, a header line, then one row per workload: label, one MiB value per
# allocator (NaN where it does not apply).
# Extra variables: peakfile, endfile, poolfile, have_pool (0 when no allocator of the run has a
# pool, so the third panel would be empty).
load plotsdir."/common.gp"
set multiplot layout (have_pool ? 3 : 2),1 title title_text."\n".subtitle font ",13"
unset title
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#333333"
set logscale y 2
set ylabel "MiB (log2)"
set lmargin at screen 0.07
set rmargin at screen 0.80
set title "peak RSS of the worker"
plot for [i=1:n] peakfile using (column(i + 1)):xtic(1) lc rgb word(colors, i) title name(i)
unset key
set title "RSS at the end, after everything was freed"
plot for [i=1:n] endfile using (column(i + 1)):xtic(1) lc rgb word(colors, i) notitle
if (have_pool) {
    set title "pool bytes reserved at the end (tmempool strategies)"
    plot for [i=1:n] poolfile using (column(i + 1)):xtic(1) lc rgb word(colors, i) notitle
}
unset multiplot
