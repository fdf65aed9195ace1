# Memory: peak and end resident set of each cell's worker process, and bytes the pool held in
# reserve (tmempool only), per workload at its highest thread count; medians, a dot per
# allocator set apart within each workload, on a log axis whose floor lies below every value.
# Data: three files, a header line, then one row per workload: label, one MiB value per
# allocator (NaN where it does not apply).
# Extra variables: peakfile, endfile, poolfile, rows (workloads), have_pool (0 when no allocator of the run has a
# pool, so the third panel would be empty).
load plotsdir."/common.gp"
set multiplot layout (have_pool ? 3 : 2),1 title title_text."\n".subtitle font ",13"
unset title
set logscale y 2
set ylabel "MiB (log2)"
set lmargin at screen 0.07
set rmargin at screen 0.80
set xtics rotate by -20 left
set xrange [-0.6:rows - 0.4]
set offsets 0, 0, graph 0.08, graph 0.08 # the axis floor below the smallest value
set grid xtics lc rgb "#eeeeee"
dodge(i) = (i - (n + 1) / 2.0) * (0.7 / n)
set title "peak RSS of the worker"
plot peakfile using 0:(NaN):xtic(1) notitle, \
     for [i=1:n] peakfile using ($0 + dodge(i)):(column(i + 1)) with points pt 7 ps 1.3 lc rgb word(colors, i) title name(i)
unset key
set title "RSS at the end, after everything was freed"
plot endfile using 0:(NaN):xtic(1) notitle, \
     for [i=1:n] endfile using ($0 + dodge(i)):(column(i + 1)) with points pt 7 ps 1.3 lc rgb word(colors, i) notitle
if (have_pool) {
    set title "pool bytes reserved at the end (tmempool strategies)"
    plot poolfile using 0:(NaN):xtic(1) notitle, \
     for [i=1:n] poolfile using ($0 + dodge(i)):(column(i + 1)) with points pt 7 ps 1.3 lc rgb word(colors, i) notitle
}
unset multiplot
