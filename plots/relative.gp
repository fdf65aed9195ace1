# Relative: each allocator's throughput over the baseline's (the median of their per-round
# ratios, with its 95% interval), per workload, at the workload's highest thread count; a dot
# per allocator, set apart within each workload; log scale, the baseline is the dashed line at 1.
# Data: a header line, then one row per workload: label, then per allocator the ratio and its
# 95% interval (low, high).
# Extra variables: datafile, baseline, rows (workloads).
load plotsdir."/common.gp"
set logscale y 2
set yrange [*:*]
set ylabel "throughput / ".baseline." (log2 scale)"
set xlabel "workload (threads)"
# Tick labels slant down to the right. Long ones (lablen characters, the longest, from the tool:
# a replay's trace names) get a smaller font, a steeper slant and a right margin that holds the
# last one, which would otherwise run off the canvas.
if (!exists("lablen")) lablen = 24
if (lablen > 36) {
    set xtics font ",9" rotate by -30 left
    set bmargin lablen * 0.17 + 3
    set rmargin lablen * 0.6
} else {
    set xtics rotate by -20 left
}
set xrange [-0.6:rows - 0.4]
set offsets 0, 0, graph 0.08, graph 0.08 # the axis floor below the smallest value
set grid xtics lc rgb "#eeeeee"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "#000000" back
dodge(i) = (i - (n + 1) / 2.0) * (0.7 / n)
# the first element only names the workloads on the x axis (no points: its y is NaN)
plot datafile using 0:(NaN):xtic(1) notitle, \
     for [i=1:n] datafile using ($0 + dodge(i)):(column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)) \
     with yerrorbars pt 7 ps 1.2 lw 1.5 lc rgb word(colors, i) title name(i)
