# bench/chart.gp — the chart of bench/results/latest.png, drawn by bench/report.sh:
#   gnuplot -e "ratios='R'; nano='N'; out='PNG'; title_text='T'" bench/chart.gp
# Top: wall-time ratios per workload (lower is better for the first engine named). Bottom:
# nanobench cycles per operation for bt86, QEMU and VMware's 2006 software VMM. Both on log
# scales; "-" in the data is a missing bar.
set terminal pngcairo size 1400,1100 font "sans,10" noenhanced
set output out
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%g"
set grid ytics
set key top left
set xtics rotate by -35 nomirror
set multiplot layout 2,1 title title_text font "sans,12"

set title "Wall-time ratios (each engine's median ÷ the other's; below 1 = faster)"
set ylabel "ratio (log scale)"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" lw 1.5
plot ratios using 2:xtic(1) title "bt86 ÷ QEMU" lc rgb "#1f77b4", \
	'' using 3 title "bt86 ÷ native" lc rgb "#2ca02c", \
	'' using 4 title "QEMU ÷ native" lc rgb "#ff7f0e"
unset arrow 1

set title "nanobench: TSC cycles per operation (guest TSC at the host's rate under both engines)"
set ylabel "cycles (log scale)"
plot nano using 2:xtic(1) title "bt86" lc rgb "#1f77b4", \
	'' using 3 title "QEMU TCG" lc rgb "#ff7f0e", \
	'' using 4 title "VMware BT, 2006 (Adams & Agesen)" lc rgb "#7f7f7f"
unset multiplot
