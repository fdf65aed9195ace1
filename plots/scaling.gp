# Scaling: throughput against threads, one line per allocator, median with min-max error bars;
# each allocator's points are set a little apart along x, so that error bars never overplot.
# Data (tab-separated, one block per allocator, blocks apart by two blank lines):
#   threads  median_ops_per_sec  min  max
# Extra variables: datafile, xmin, xmax.
load plotsdir."/common.gp"
set xlabel "threads (log2 scale; each allocator's points slightly apart)"
set ylabel "throughput, million ops/s (median, min-max bars)"
set logscale x 2
set xrange [xmin:xmax]
set yrange [0:*]
dodge(i) = 2 ** ((i - (n + 1) / 2.0) * 0.035)
plot for [i=1:n] datafile index (i-1) using ($1 * dodge(i)):($2/1e6):($3/1e6):($4/1e6) \
     with yerrorlines lw 2 pt 7 ps 0.9 lc rgb word(colors, i) title name(i)
