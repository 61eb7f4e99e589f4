/* export.c — the trace in other tools' formats: Chrome / Perfetto trace-event JSON (export) and
 * a self-contained HTML page (report) with the summary, the time split, a plot and the top
 * blocks.
 *
 * Times in trace-event JSON are microseconds. Translations, exceptions, invalidations and
 * flushes become instant events on one thread each, so Perfetto draws them as separate tracks;
 * translations per 10 ms become a counter track. A translation's execution count (when the trace
 * has them) is an argument of its event. The HTML has no external resources and no script: CSS
 * and the SVG plot are inline, so the file can be mailed or attached to a bug.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/trace/tool.h"

#define TOOL_BIN_NS    10000000u /* the counter track's bin: 10 ms */
#define TOOL_PLOT_BINS 200u
#define TOOL_TOP       20u

static void tool_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void tool_json_instant(FILE *f, bool *first, const char *name, int tid, uint64_t ns,
			      const char *args)
{
	fprintf(f, "%s\n{\"name\":", *first ? "" : ",");
	tool_json_str(f, name);
	fprintf(f,
		",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%" PRIu64 ".%03" PRIu64
		",\"args\":{%s}}",
		tid, ns / 1000, ns % 1000, args);
	*first = false;
}

static void tool_json_thread_name(FILE *f, bool *first, int tid, const char *name)
{
	fprintf(
	    f,
	    "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":",
	    *first ? "" : ",", tid);
	tool_json_str(f, name);
	fprintf(f, "}}");
	*first = false;
}

static void tool_chrome_write(FILE *f, const struct tool_opts *o, const struct tool_trace *t)
{
	bool first = true;
	uint64_t bins;
	uint64_t *per_bin;

	fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"guest\":");
	tool_json_str(f, t->guest);
	fprintf(f, ",\"host\":");
	tool_json_str(f, t->host);
	fprintf(f, "},\"traceEvents\":[");
	fprintf(f, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"bt86 "
		   "guest\"}}");
	first = false;
	tool_json_thread_name(f, &first, 1, "translations");
	tool_json_thread_name(f, &first, 2, "exceptions");
	tool_json_thread_name(f, &first, 3, "invalidations and flushes");
	tool_json_thread_name(f, &first, 4, "other events");

	for (size_t i = 0; i < t->n_blocks; i++) {
		const struct tool_block *b = &t->blocks[i];
		char sym[256], args[512], name[300];

		tool_sym_format(&o->symtab, b->eip, sym, sizeof(sym));
		snprintf(name, sizeof(name), "translate %s", sym[0] ? sym : "");
		if (!sym[0])
			snprintf(name, sizeof(name), "translate 0x%08" PRIx32, b->eip);
		snprintf(args, sizeof(args),
			 "\"eip\":\"0x%08" PRIx32 "\",\"guest_bytes\":%" PRIu32
			 ",\"insns\":%" PRIu32 ",\"host_bytes\":%" PRIu32,
			 b->eip, b->guest_len, b->n_insns, b->host_len);
		if (t->has_counts)
			snprintf(args + strlen(args), sizeof(args) - strlen(args),
				 ",\"exec\":%" PRIu64, b->exec);
		/* sym is printed through tool_json_str via the name only. */
		fprintf(f, ",\n{\"name\":");
		tool_json_str(f, name);
		fprintf(f,
			",\"cat\":\"translation\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":1,"
			"\"ts\":%" PRIu64 ".%03" PRIu64 ",\"args\":{%s}}",
			b->time_ns / 1000, b->time_ns % 1000, args);
	}
	for (size_t i = 0; i < t->n_events; i++) {
		const struct tool_event *e = &t->events[i];
		const char *kind = trc_event_kind_name(e->kind);
		char args[256];
		int tid = e->kind == TRC_EV_EXCEPTION				    ? 2
			  : e->kind == TRC_EV_INVALIDATE || e->kind == TRC_EV_FLUSH ? 3
										    : 4;

		snprintf(args, sizeof(args),
			 "\"a\":\"0x%" PRIx64 "\",\"b\":\"0x%" PRIx64 "\",\"c\":\"0x%" PRIx64 "\"",
			 e->a, e->b, e->c);
		tool_json_instant(f, &first, kind ? kind : "unknown event", tid, e->time_ns, args);
	}

	bins = t->last_time_ns / TOOL_BIN_NS + 1;
	per_bin = calloc(bins, sizeof(*per_bin));
	if (per_bin != NULL) {
		for (size_t i = 0; i < t->n_blocks; i++)
			per_bin[t->blocks[i].time_ns / TOOL_BIN_NS]++;
		for (uint64_t i = 0; i < bins; i++)
			fprintf(f,
				",\n{\"name\":\"translations per 10 ms\",\"ph\":\"C\",\"pid\":1,"
				"\"ts\":%" PRIu64 ",\"args\":{\"translations\":%" PRIu64 "}}",
				i * TOOL_BIN_NS / 1000, per_bin[i]);
		free(per_bin);
	}
	fprintf(f, "\n]}\n");
}

int tool_cmd_export(struct tool_opts *o)
{
	const char *path = NULL, *out = NULL;
	struct tool_trace t;
	int status;
	FILE *f;

	for (int i = 0; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--chrome") == 0 && i + 1 < o->argc)
			out = o->argv[++i];
		else if (o->argv[i][0] == '-' || path != NULL)
			return tool_bad("export: unexpected argument '%s'", o->argv[i]);
		else
			path = o->argv[i];
	}
	if (path == NULL || out == NULL)
		return tool_bad("usage: bt86-trace export FILE --chrome OUT.json");
	if (!tool_load_or_complain(&t, path))
		return TOOL_EXIT_BAD_INPUT;
	f = fopen(out, "w");
	if (f == NULL) {
		status = tool_bad("%s: %s", out, strerror(errno));
		tool_trace_free(&t);
		return status;
	}
	tool_chrome_write(f, o, &t);
	if (fclose(f) != 0) {
		status = tool_bad("%s: %s", out, strerror(errno));
		tool_trace_free(&t);
		return status;
	}
	printf("wrote %s: %zu translations, %zu events\n", out, t.n_blocks, t.n_events);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}

/* ---- report ------------------------------------------------------------------------------ */

static void tool_html_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void tool_html_row(FILE *f, const char *name, uint64_t value, uint64_t whole)
{
	fprintf(f, "<tr><td>");
	tool_html_str(f, name);
	fprintf(f, "</td><td class=n>%" PRIu64 "</td>", value);
	if (whole != 0)
		fprintf(f, "<td class=n>%.1f%%</td>", 100.0 * (double)value / (double)whole);
	fprintf(f, "</tr>\n");
}

/* Translations and exceptions per bin over the trace's duration, as two polylines. */
static void tool_html_plot(FILE *f, const struct tool_trace *t)
{
	uint64_t tr[TOOL_PLOT_BINS] = {0}, ex[TOOL_PLOT_BINS] = {0}, max = 1;
	uint64_t span = t->last_time_ns + 1;
	const double w = 800, h = 200;

	for (size_t i = 0; i < t->n_blocks; i++)
		tr[t->blocks[i].time_ns * TOOL_PLOT_BINS / span]++;
	for (size_t i = 0; i < t->n_events; i++)
		if (t->events[i].kind == TRC_EV_EXCEPTION && t->events[i].time_ns < span)
			ex[t->events[i].time_ns * TOOL_PLOT_BINS / span]++;
	for (unsigned i = 0; i < TOOL_PLOT_BINS; i++) {
		if (tr[i] > max)
			max = tr[i];
		if (ex[i] > max)
			max = ex[i];
	}
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" "
		"stroke=\"#ccc\"/>\n",
		w + 100, h + 40, w + 100, h + 40, w, h);
	for (int series = 0; series < 2; series++) {
		const uint64_t *v = series ? ex : tr;

		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
			series ? "#c0392b" : "#2c6fbb");
		for (unsigned i = 0; i < TOOL_PLOT_BINS; i++)
			fprintf(f, "%.1f,%.1f ", (i + 0.5) * w / TOOL_PLOT_BINS,
				h - (double)v[i] * h / (double)max);
		fprintf(f, "\"/>\n");
	}
	fprintf(f,
		"<text x=\"4\" y=\"%.0f\" font-size=\"12\">0 s</text>"
		"<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\">%" PRIu64
		".%03" PRIu64 " s</text>"
		"<text x=\"%.0f\" y=\"12\" font-size=\"12\">%" PRIu64 " per bin</text>"
		"<text x=\"10\" y=\"%.0f\" font-size=\"12\" fill=\"#2c6fbb\">translations</text>"
		"<text x=\"110\" y=\"%.0f\" font-size=\"12\" fill=\"#c0392b\">exceptions "
		"(faults)</text>\n</svg>\n",
		h + 15, w, h + 15, t->last_time_ns / TOOL_NS, t->last_time_ns % TOOL_NS / 1000000,
		w + 4, max, h + 32, h + 32);
}

static double tool_html_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void tool_html_blocks(FILE *f, const struct tool_opts *o, const struct tool_trace *t,
			     const char *key, const char *title)
{
	const struct tool_block **sorted = tool_blocks_sorted(t, key);

	if (sorted == NULL)
		return;
	fprintf(f, "<h2>");
	tool_html_str(f, title);
	fprintf(f, "</h2>\n<table><tr><th>#</th><th>eip</th><th>symbol</th><th>insns</th>"
		   "<th>guest bytes</th><th>host bytes</th><th>callouts</th>");
	if (t->has_counts)
		fprintf(f, "<th>executed</th>");
	fprintf(f, "<th>time (s)</th></tr>\n");
	for (size_t i = 0; i < t->n_blocks && i < TOOL_TOP; i++) {
		const struct tool_block *b = sorted[i];
		char sym[256];

		tool_sym_format(&o->symtab, b->eip, sym, sizeof(sym));
		fprintf(f, "<tr><td class=n>%" PRIu32 "</td><td>0x%08" PRIx32 "</td><td>", b->index,
			b->eip);
		tool_html_str(f, sym);
		fprintf(f,
			"</td><td class=n>%" PRIu32 "</td><td class=n>%" PRIu32
			"</td><td class=n>%" PRIu32 "</td><td class=n>%" PRIu64 "</td>",
			b->n_insns, b->guest_len, b->host_len, b->callouts);
		if (t->has_counts)
			fprintf(f, "<td class=n>%" PRIu64 "</td>", b->exec);
		fprintf(f, "<td class=n>%" PRIu64 ".%06" PRIu64 "</td></tr>\n",
			b->time_ns / TOOL_NS, b->time_ns % TOOL_NS / 1000);
	}
	fprintf(f, "</table>\n");
	free(sorted);
}

/* The blocks that ran most, with their shares of the entries and of the executed instructions
 * (each entry counted as the whole block, as in summary). */
static void tool_html_hot(FILE *f, const struct tool_opts *o, const struct tool_trace *t)
{
	const struct tool_block **sorted;

	fprintf(f, "<h2>Hot blocks by execution count</h2>\n");
	if (!t->has_counts) {
		fprintf(f, "<p>Execution counts were not recorded: <code>bt86 run --trace FILE "
			   "--trace-counts</code> records them.</p>\n");
		return;
	}
	sorted = tool_blocks_sorted(t, "exec");
	if (sorted == NULL)
		return;
	fprintf(f,
		"<p>%" PRIu64 " block entries and %" PRIu64
		" guest instructions executed (every entry counted as the whole block).",
		t->block_entries, t->exec_insns);
	if (t->execs_unmatched != 0)
		fprintf(f,
			" <span class=warn>%" PRIu64 " counts with %" PRIu64
			" entries match no block and are left out.</span>",
			t->execs_unmatched, t->execs_unmatched_sum);
	fprintf(f, "</p>\n<table><tr><th>#</th><th>eip</th><th>symbol</th><th>executed</th>"
		   "<th>of entries</th><th>insns</th><th>insns executed</th><th>of executed</th>"
		   "<th>IDENT insns</th><th>host bytes</th></tr>\n");
	for (size_t i = 0; i < t->n_blocks && i < TOOL_TOP && sorted[i]->exec != 0; i++) {
		const struct tool_block *b = sorted[i];
		uint64_t insns = tool_sat_mul(b->exec, b->n_insns);
		char sym[256];

		tool_sym_format(&o->symtab, b->eip, sym, sizeof(sym));
		fprintf(f, "<tr><td class=n>%" PRIu32 "</td><td>0x%08" PRIx32 "</td><td>", b->index,
			b->eip);
		tool_html_str(f, sym);
		fprintf(f,
			"</td><td class=n>%" PRIu64
			"</td><td class=n>%.1f%%</td><td class=n>%" PRIu32
			"</td><td class=n>%" PRIu64 "</td><td class=n>%.1f%%</td><td class=n>",
			b->exec, tool_html_pct(b->exec, t->block_entries), b->n_insns, insns,
			tool_html_pct(insns, t->exec_insns));
		if (b->mapped)
			fprintf(f, "%" PRIu32, b->copied);
		else
			fprintf(f, "?");
		fprintf(f, "</td><td class=n>%" PRIu32 "</td></tr>\n", b->host_len);
	}
	fprintf(f, "</table>\n");
	free(sorted);
}

/* The "time: " counters as a table of shares with a bar each; the last row sums the parts. */
static void tool_html_time(FILE *f, const struct tool_trace *t)
{
	const struct tool_counter *total = tool_time_total(t);
	uint64_t whole, sum = 0;
	bool of_total, any = false;
	char label[128];

	fprintf(f, "<h2>Where the time went</h2>\n");
	for (size_t i = 0; i < t->n_counters; i++)
		any = any || tool_counter_is_time(&t->counters[i]);
	if (!any) {
		fprintf(f,
			"<p>The trace has no time split (no <code>time: </code> counters).</p>\n");
		return;
	}
	whole = tool_time_whole(t, &of_total);
	if (of_total)
		fprintf(f, "<p>Shares of the total run of %" PRIu64 ".%06" PRIu64 " s.</p>\n",
			whole / TOOL_NS, whole % TOOL_NS / 1000);
	else
		fprintf(f, "<p>Shares of the sum of the parts (the trace has no total).</p>\n");
	fprintf(f, "<table><tr><th>part</th><th>seconds</th><th>share</th><th></th></tr>\n");
	for (size_t i = 0; i < t->n_counters; i++) {
		const struct tool_counter *c = &t->counters[i];
		double pct = tool_html_pct(c->value, whole);

		if (!tool_counter_is_time(c) || c == total)
			continue;
		sum = tool_sat_add(sum, c->value);
		fprintf(f, "<tr><td>");
		tool_html_str(f, tool_time_label(c, label, sizeof(label)));
		fprintf(f,
			"</td><td class=n>%" PRIu64 ".%06" PRIu64
			"</td><td class=n>%.1f%%</td><td class=bar><div style=\"width:%.1f%%\">"
			"</div></td></tr>\n",
			c->value / TOOL_NS, c->value % TOOL_NS / 1000, pct, pct > 100 ? 100 : pct);
	}
	fprintf(f,
		"<tr><th>sum of the parts</th><td class=n>%" PRIu64 ".%06" PRIu64
		"</td><td class=n>%.1f%%</td><td></td></tr>\n</table>\n",
		sum / TOOL_NS, sum % TOOL_NS / 1000, tool_html_pct(sum, whole));
}

static void tool_html_write(FILE *f, const struct tool_opts *o, const struct tool_trace *t)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		   "<title>bt86 trace report</title>\n<style>\n"
		   "body{font-family:sans-serif;margin:2em;color:#222}\n"
		   "table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
		   "td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}\n"
		   "th{background:#eee}td.n{text-align:right;font-family:monospace}\n"
		   "td.bar{width:300px}td.bar div{background:#2c6fbb;height:10px}\n"
		   ".warn{color:#c0392b}\n</style></head><body>\n<h1>bt86 trace report</h1>\n");
	fprintf(f, "<p>Trace <code>");
	tool_html_str(f, t->path);
	fprintf(f, "</code>, format version %u.<br>Guest: ", t->version);
	tool_html_str(f, t->guest);
	fprintf(f, "<br>Host: ");
	tool_html_str(f, t->host);
	fprintf(f, "</p>\n");
	if (!t->complete) {
		fprintf(f, "<p class=warn>Incomplete trace: ");
		tool_html_str(f, t->error);
		fprintf(f, "</p>\n");
	}
	fprintf(f, "<h2>Summary</h2>\n<table>\n");
	tool_html_row(f, "blocks translated", t->n_blocks, 0);
	tool_html_row(f, "guest instructions translated", t->guest_insns, 0);
	tool_html_row(f, "copied unchanged (IDENT)", t->copied_insns, t->mapped_insns);
	tool_html_row(f, "guest bytes", t->guest_bytes, 0);
	tool_html_row(f, "host bytes", t->host_bytes, 0);
	tool_html_row(f, "callouts", t->n_callouts, 0);
	tool_html_row(f, "events", t->n_events, 0);
	if (t->has_counts) {
		tool_html_row(f, "block entries (execution counts)", t->block_entries, 0);
		tool_html_row(f, "guest instructions executed", t->exec_insns, 0);
		tool_html_row(f, "executed instructions copied unchanged (IDENT)",
			      t->exec_copied_insns, t->exec_mapped_insns);
	}
	fprintf(f, "<tr><td>duration</td><td class=n>%" PRIu64 ".%09" PRIu64 " s</td></tr>\n",
		t->last_time_ns / TOOL_NS, t->last_time_ns % TOOL_NS);
	fprintf(f, "</table>\n");
	tool_html_time(f, t);
	tool_html_hot(f, o, t);
	fprintf(f, "<h2>Translations and faults over time</h2>\n");
	tool_html_plot(f, t);
	fprintf(f, "<h2>Callouts by kind</h2>\n<table>\n");
	for (uint32_t k = 0; k < TOOL_KINDS; k++) {
		const char *name = tool_trace_kind_name(t, (uint16_t)k);

		if (t->callouts_by_kind[k] != 0)
			tool_html_row(f, name ? name : "(unnamed)", t->callouts_by_kind[k],
				      t->n_callouts);
	}
	fprintf(f, "</table>\n<h2>Events by kind</h2>\n<table>\n");
	for (uint32_t k = 0; k < TOOL_KINDS; k++) {
		const char *name = trc_event_kind_name((uint16_t)k);

		if (t->events_by_kind[k] != 0)
			tool_html_row(f, name ? name : "(unknown kind)", t->events_by_kind[k],
				      t->n_events);
	}
	fprintf(f, "</table>\n");
	tool_html_blocks(f, o, t, "size", "Top blocks by host size");
	tool_html_blocks(f, o, t, "callouts", "Top blocks by callouts");
	fprintf(f, "<h2>Counters at close</h2>\n<table>\n");
	for (size_t i = 0; i < t->n_counters; i++)
		tool_html_row(f, t->counters[i].name, t->counters[i].value, 0);
	fprintf(f, "</table>\n</body></html>\n");
}

int tool_cmd_report(struct tool_opts *o)
{
	const char *path = NULL, *dir = NULL;
	struct tool_trace t;
	char out[4096];
	int status;
	FILE *f;

	for (int i = 0; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--html") == 0 && i + 1 < o->argc)
			dir = o->argv[++i];
		else if (o->argv[i][0] == '-' || path != NULL)
			return tool_bad("report: unexpected argument '%s'", o->argv[i]);
		else
			path = o->argv[i];
	}
	if (path == NULL || dir == NULL)
		return tool_bad("usage: bt86-trace report FILE --html DIR");
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return tool_bad("%s: %s", dir, strerror(errno));
	snprintf(out, sizeof(out), "%s/index.html", dir);
	if (!tool_load_or_complain(&t, path))
		return TOOL_EXIT_BAD_INPUT;
	f = fopen(out, "w");
	if (f == NULL) {
		status = tool_bad("%s: %s", out, strerror(errno));
		tool_trace_free(&t);
		return status;
	}
	tool_html_write(f, o, &t);
	if (fclose(f) != 0) {
		status = tool_bad("%s: %s", out, strerror(errno));
		tool_trace_free(&t);
		return status;
	}
	printf("wrote %s\n", out);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}
