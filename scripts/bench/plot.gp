# SPDX-License-Identifier: GPL-2.0
# One line plot for `make bench` (called by scripts/bench/report.py).
# Variables (gnuplot -e): datafile, out, term (svg | pngcairo | png),
# nblocks, titles (space separated, one word per data block, '_' shown as
# space), ttl, stamp, xl, yl, xlog (0, or the log base of the x axis),
# ylog (0/1: log10 y axis), ref (0/1: column 5 is a baseline, drawn dashed
# in the block's colour), pts (0/1: points and error bars, or plain lines),
# lcs and dts (space separated colour / dash type numbers, one per block).
# Data blocks (separated by two blank lines): x median min max [baseline].
if (term eq 'svg') {
  set terminal svg size 900,560 dynamic enhanced font "sans,12" \
    background rgb "white"
} else {
  if (term eq 'pngcairo') {
    set terminal pngcairo size 900,560 enhanced font "sans,10" \
      background rgb "white"
  } else {
    set terminal png size 900,560 background rgb "white"
  }
}
set output out
set title ttl noenhanced
set label 1 stamp at screen 0.01, screen 0.015 font "sans,9" noenhanced
set bmargin 5
set xlabel xl noenhanced
set ylabel yl noenhanced
set key outside right top noenhanced
set grid
if (ylog) { set logscale y 10; set yrange [*:*] } else { set yrange [0:*] }
if (xlog) set logscale x xlog
set offsets graph 0.05, graph 0.05, 0, 0
fix(s) = system("echo " . s . " | tr _ ' '")
C(i) = word(lcs, i+1) + 0
D(i) = word(dts, i+1) + 0
if (!pts) {
  plot for [i=0:nblocks-1] datafile index i using 1:2 with lines \
         lw 2 lc C(i) dt D(i) title fix(word(titles, i+1))
} else {
  if (ref) {
    plot for [i=0:nblocks-1] datafile index i using 1:2:3:4 \
           with yerrorlines lw 2 pt 7 lc C(i) dt D(i) \
           title fix(word(titles, i+1)), \
         for [i=0:nblocks-1] datafile index i using 1:5 with lines dt 2 \
           lw 1 lc C(i) notitle
  } else {
    plot for [i=0:nblocks-1] datafile index i using 1:2:3:4 \
           with yerrorlines lw 2 pt 7 lc C(i) dt D(i) \
           title fix(word(titles, i+1))
  }
}
