# Per-packet cost against policy entries: polc (BPF_PROG_TEST_RUN and request/response) and
# kube-router's iptables + ipset rules (request/response). Called by bench/datapath/run:
#   gnuplot -e "testrun='A.dat'; rr='B.dat'; has_testrun=1; has_rr=1; out='C.svg'; kernel='...'" plot.gp
# A.dat: entries, new denied flow, new allowed flow (cold), established flow (ns, minus empty)
# B.dat: entries, polc added latency, iptables added latency (ns, minus no program)
# Values at or below zero (within the noise of the measurement) are not drawn.
set terminal svg size 900,560 dynamic font "sans,12" background rgb "white"
set output out
set title sprintf("Per-packet policy cost against entries (one run, %s)", kernel)
set logscale xy
set xlabel "policy entries (polc) / ingress rules (iptables)"
set ylabel "ns per packet (first packet of a flow unless noted)"
set key top left box opaque
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set xrange [5:131072]
set format y "10^{%L}"
set format x "10^{%L}"
# has_rr / has_testrun (0 or 1) say which data files have points
c = ""
if (has_rr) c = c . sprintf("'%s' using 1:($3 > 0 ? $3 : NaN) with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'iptables+ipset (kube-router), added RTT, new flow', '%s' using 1:($2 > 0 ? $2 : NaN) with linespoints lw 2 pt 5 lc rgb '#2471a3' title 'polc, added RTT, new flow', ", rr, rr)
if (has_testrun) c = c . sprintf("'%s' using 1:($3 > 0 ? $3 : NaN) with linespoints lw 2 pt 9 lc rgb '#1e8449' title 'polc, BPF test run, new allowed flow (cold)', '%s' using 1:($2 > 0 ? $2 : NaN) with linespoints lw 2 dt 2 pt 8 lc rgb '#1e8449' title 'polc, BPF test run, new denied flow', '%s' using 1:($4 > 0 ? $4 : NaN) with linespoints lw 2 dt 3 pt 6 lc rgb '#7d3c98' title 'polc, BPF test run, established flow'", testrun, testrun, testrun)
eval "plot " . c
