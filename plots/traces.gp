# Traces: what each replayed program asked for, as the share of its objects in each power-of-two
# size range; bars per trace side by side within a range.
# Data: a comment line, a header comment (size, then one column per trace), then one row per range: its label and
# each trace's percent.
# Extra variables: datafile, rows (size ranges).
load plotsdir."/common.gp"
set ylabel "share of the trace's objects, %"
set xlabel "object size, bytes"
set xrange [-0.6:rows - 0.4]
set yrange [0:*]
set xtics rotate by -30 left
set style fill solid 0.85 border -1
set boxwidth 0.8 / n
dodge(i) = (i - (n + 1) / 2.0) * (0.8 / n)
plot datafile using 0:(NaN):xtic(1) notitle, \
     for [i=1:n] datafile using ($0 + dodge(i)):(column(i + 1)) with boxes lc rgb word(colors, i) title name(i)
