# bench/chart.gp — the chart of bench/results/latest.png, drawn by bench/report.sh:
#   gnuplot -e "ratios='R'; nano='N'; have_nano=0|1; out='PNG'; title_text='T'" bench/chart.gp
# Top: time ratios per workload (lower is better for the first engine named). Bottom, when the
# run had nanobench: its cycles per operation for bt86, QEMU and VMware's 2006 software VMM.
# Both on log scales; "-" in the data is a missing bar.
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
if (!exists("have_nano")) have_nano = 1
set multiplot layout (have_nano ? 2 : 1),1 title title_text font "sans,12"

set title "Time ratios (each engine's median ÷ the other's, of wall time or of a Linux workload's own time; below 1 = faster)"
set ylabel "ratio (log scale)"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" lw 1.5
plot ratios using 2:xtic(1) title "bt86 ÷ QEMU" lc rgb "#1f77b4", \
	'' using 3 title "bt86 ÷ native" lc rgb "#2ca02c", \
	'' using 4 title "QEMU ÷ native" lc rgb "#ff7f0e"
unset arrow 1

if (have_nano) {
	set title "nanobench: TSC cycles per operation (guest TSC at the host's rate under both engines)"
	set ylabel "cycles (log scale)"
	plot nano using 2:xtic(1) title "bt86" lc rgb "#1f77b4", \
		'' using 3 title "QEMU TCG" lc rgb "#ff7f0e", \
		'' using 4 title "VMware BT, 2006 (Adams & Agesen)" lc rgb "#7f7f7f"
}
unset multiplot
