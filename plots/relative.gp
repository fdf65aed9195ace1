# Relative: each allocator's throughput over the baseline's (the median of their per-round
# ratios), per workload, at the workload's highest thread count; log scale, the baseline is the
# dashed line at 1.
# Data: a header line, then one row per workload: label, then per allocator the ratio and its
# 95% interval (low, high).
# Extra variables: datafile, baseline.
load plotsdir."/common.gp"
set style data histograms
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.95
set logscale y 2
set yrange [*:*]
set ylabel "throughput / ".baseline.", paired by round (log2 scale)"
set xlabel "workload (threads)"
set xtics rotate by -20 left
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "#000000" front
plot for [i=1:n] datafile using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
     lc rgb word(colors, i) title name(i)
