# Strip: a workload run at one thread count. One column per allocator: every repetition as a dot
# (set apart by repetition number), the median as a ring.
# Data (tab-separated, one block per allocator, blocks apart by two blank lines):
#   x  ops_per_sec  median_ops_per_sec
# Extra variables: datafile.
load plotsdir."/common.gp"
set xrange [0.5:n + 0.5]
set xtics ()
set for [i=1:n] xtics add (name(i) i)
set xtics rotate by -30 left
set ylabel "throughput, million ops/s (each repetition; ring: median)"
set yrange [0:*]
unset key
plot for [i=1:n] datafile index (i-1) using 1:($2/1e6) with points pt 7 ps 1.0 lc rgb word(colors, i) notitle, \
     for [i=1:n] datafile index (i-1) using (i):($3/1e6) every ::0::0 with points pt 6 ps 2.5 lw 2 lc rgb "#333333" notitle
