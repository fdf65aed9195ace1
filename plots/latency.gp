# Latency: p50, p99 and p99.9 of single allocations (left) and frees (right) for one workload,
# one bar per allocator, log scale. Sampled one call in N with the TSC (docs/BENCHMARKING.md, "Method").
# Data: two files (alloc, free), a header line, then rows p50, p99, p99.9: label, one value
# (ns) per allocator.
# Extra variables: allocfile, freefile.
load plotsdir."/common.gp"
set multiplot layout 1,2 title title_text."\n".subtitle font ",13"
unset title
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#333333"
set logscale y 10
set ylabel "nanoseconds (log scale)"
set key inside left top
set title "allocation"
plot for [i=1:n] allocfile using (column(i + 1)):xtic(1) lc rgb word(colors, i) title name(i)
set title "free"
unset key
plot for [i=1:n] freefile using (column(i + 1)):xtic(1) lc rgb word(colors, i) notitle
unset multiplot
