# The look every tmbench chart shares. `tmbench plot` sets, before loading a chart template:
#   term      "png" or "svg"          outfile   where to write
#   title_text, subtitle              the chart's title and the machine/date/commit line
#   name1 .. nameN                    the allocators, in plot order (name(i) below reads them)
#   colors                            their colors, space-separated
#   n                                 how many allocators
#   failed                            cells left out of this chart (not ok), "" when none
#   width, height                     pixels (optional)
# Edit freely: the tool fills in data and words, the style is yours.
name(i) = value(sprintf("name%d", i))
if (!exists("width")) width = 1100
if (!exists("height")) height = 650
if (term eq "svg") {
    set terminal svg size width,height dynamic noenhanced font "DejaVu Sans,12" background rgb "white"
} else {
    set terminal pngcairo size width,height noenhanced font "DejaVu Sans,11" background rgb "white"
}
set output outfile
# a long title gets a smaller font: gnuplot centres it over the plot area, which the key pushes
# left, so a title wider than that area is cut at the canvas's left edge
set title title_text."\n".subtitle font (strlen(title_text) > 95 ? ",10" : strlen(title_text) > 75 ? ",11" : ",13")
set border 3 lw 1 lc rgb "#555555"
set tics nomirror
set grid ytics lc rgb "#dddddd" lw 1
set key outside right top vertical Left reverse samplen 2 spacing 1.2 box lc rgb "#cccccc"
set datafile missing "NaN"
set datafile separator "\t"
if (strlen(failed) > 0) {
    set bmargin 6
    set label 99 "not ok, left out: ".failed at screen 0.01, screen 0.025 left font ",9" tc rgb "#aa0000"
}
