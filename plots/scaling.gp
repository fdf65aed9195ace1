# Scaling: throughput against threads, one line per allocator, median with min-max error bars.
# Data (tab-separated, one block per allocator, blocks apart by two blank lines):
#   threads  median_ops_per_sec  min  max
# Extra variables: datafile, xmin, xmax.
load plotsdir."/common.gp"
set xlabel "threads (log2 scale)"
set ylabel "throughput, million ops/s (median, min-max bars)"
set logscale x 2
set xrange [xmin:xmax]
set yrange [0:*]
plot for [i=1:n] datafile index (i-1) using 1:($2/1e6):($3/1e6):($4/1e6) \
     with yerrorlines lw 2 pt 7 ps 0.9 lc rgb word(colors, i) title name(i)
