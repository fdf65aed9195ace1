# Latency: p50, p99 and p99.9 of single allocations (left) and frees (right) for one workload, a
# dot per percentile and allocator on a log scale. Sampled one call in N with the TSC
# (docs/BENCHMARKING.md, "Method"). A percentile below the timer's resolution (two steps) is no
# value: it is drawn as a downward triangle at that bound.
# Data: two files (alloc, free): index, allocator, p50, p99, p99.9 (NaN when below the bound),
# then the three bounds (NaN when resolved), then the batch mean (64 calls back to back, timed
# whole: a mean per call, not a single call's latency).
# Extra variables: allocfile, freefile.
load plotsdir."/common.gp"
set multiplot layout 1,2 title title_text."\n".subtitle font ",13"
unset title
set logscale y 10
set ylabel "nanoseconds (log scale)"
set xrange [0.5:n + 0.5]
set xtics rotate by -30 left
set grid xtics lc rgb "#eeeeee"
set key outside bottom center horizontal
c50 = "#0072B2"; c99 = "#E69F00"; c999 = "#D55E00"
do for [panel = 1:2] {
    file = panel == 1 ? allocfile : freefile
    set title (panel == 1 ? "allocation" : "free")
    if (panel == 2) { unset key }
    plot file using ($1 - 0.2):3:xtic(2) with points pt 7 ps 1.4 lc rgb c50 title "p50", \
         '' using 1:4 with points pt 5 ps 1.4 lc rgb c99 title "p99", \
         '' using ($1 + 0.2):5 with points pt 13 ps 1.6 lc rgb c999 title "p99.9", \
         '' using ($1 - 0.2):6 with points pt 11 ps 1.6 lc rgb c50 title "below resolution (bound)", \
         '' using 1:7 with points pt 11 ps 1.6 lc rgb c99 notitle, \
         '' using ($1 + 0.2):8 with points pt 11 ps 1.6 lc rgb c999 notitle, \
         '' using ($1 - 0.4):9 with points pt 3 ps 1.6 lw 1.5 lc rgb "#333333" title "mean of 64 calls in a row"
}
unset multiplot
