#!/usr/bin/python3
"""bench/registry_report.py RESULTS_DIR

Turns the files bench/registry leaves in RESULTS_DIR into one Markdown
report: top-10 latency p50/p99/mean of each daemon set-up (big: one index
of Nx; reg-N: N registered indexes of 1x, queries round-robin across them
by cwd; reg-N-runs: the same daemon, each index for a run of queries in a
row; reg-N-one: the same daemon, every query to one of them; reg-1: that
index alone registered; default-1: that index as the default, no registry;
with --tiny K, reg-N+K and reg-N+K-one: K more registered indexes of one
file each).  The machine's other work comes and goes within a round, so
each is given twice: over each query's best time of the rounds (the main
figures), and over every round's times pooled; then per round (the noise),
per category, and the ratios issue 15's item 5 is about, each also as the
median of the per-query ratios of best times, which the spread between
queries does not blur.

Percentiles are nearest-rank, as bench/report.py takes them.  "Same
totals" counts the queries whose match count equals default-1's in the
same round: the N trees hold the same files, so a query answered by any of
the 1x indexes finds as many.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import CATEGORIES, fmt_us, read_kv, stats  # noqa: E402


def read_runs(res, name, rounds):
    """Per round: [(category, us, total)] in query order, or None."""
    out = []
    for r in range(1, rounds + 1):
        path = os.path.join(res, "lat-%s-r%d.tsv" % (name, r))
        if not os.path.exists(path):
            return None
        rows = []
        for line in open(path):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 4:
                rows.append((f[0], float(f[1]), int(f[2])))
        out.append(rows)
    return out


def fmt_ratio(x):
    return "n/a" if x is None else "%.2f" % x


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: registry_report.py RESULTS_DIR")
    res = sys.argv[1]
    meta = read_kv(os.path.join(res, "meta.txt"))
    n = int(meta.get("count", "8"))
    tiny = int(meta.get("tiny", "0"))
    rounds = int(meta.get("rounds", "1"))
    many = "reg-%d+%d" % (n, tiny)
    setups = [
        ("big", "one index of %dx, no registry" % n),
        ("reg-%d" % n, "%d registered indexes of 1x, round-robin by cwd" % n),
        ("reg-%d-runs" % n, "%d registered, each for 1/%d of the queries in a row" % (n, n)),
        ("reg-%d-one" % n, "%d registered, every query to the first" % n),
        (many, "%d of 1x and %d of one file registered, round-robin over the %d" % (n, tiny, n)),
        (many + "-one", "%d registered, every query to the first" % (n + tiny)),
        ("reg-1", "1 registered index of 1x"),
        ("default-1", "that 1x index as the default, no registry"),
    ]
    runs = {k: read_runs(res, k, rounds) for k, _ in setups}
    setups = [(k, d) for k, d in setups if runs[k]]
    # each query's best time over the rounds (category and total of round 1)
    best = {k: [(rows[0][0], min(r[1] for r in rows), rows[0][2]) for rows in zip(*runs[k])]
            for k, _ in setups}

    def pooled(k, cat=None):
        return [us for rows in runs[k] for c, us, _ in rows if cat is None or c == cat]

    def bests(k, cat=None):
        return [us for c, us, _ in best[k] if cat is None or c == cat]

    out = []
    out.append("## A daemon's registry: %d indexes of 1x against one of %dx (`bench/registry`, issue 15)\n" % (n, n))
    out.append(
        "- **Date:** %s. **Machine:** %s, %s CPUs, %s, Linux %s. **Load average** (1 min) at the start %s, at the end %s."
        % (meta.get("date", "?"), meta.get("cpu", "?"), meta.get("nproc", "?"), meta.get("ram", "?"),
           meta.get("kernel", "?"), meta.get("load_start", "?"), meta.get("load_end", "?")))
    out.append(
        "- **xihu** %s; xihud --threads %s --no-sync; bench/run's queries, one warm-up pass, then one measured "
        "pass over one connection, %d rounds (the daemons interleaved), every query sent with a cwd."
        % (meta.get("xihu_version", "?"), meta.get("threads", "?"), rounds))
    out.append("- **%dx index:** %s (roots: %s)." % (n, meta.get("big", "?"), meta.get("big_roots", "?").strip()))
    out.append("- **1x indexes:** the Linux tree and copies of it, one index each (`xihu-index --no-ignore`); "
               "the first: %s.\n" % meta.get("one", "?"))

    out.append("Best of %d rounds per query, and (pooled) every round's times:\n" % rounds)
    out.append("| set-up | p50 us | p99 us | mean us | pooled p50 | p99 | mean | per-round p50 | per-round mean |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    summary, summary_pooled = {}, {}
    for k, desc in setups:
        s = summary[k] = stats(bests(k))
        p = summary_pooled[k] = stats(pooled(k))
        per = [stats([us for _, us, _ in rows]) for rows in runs[k]]
        out.append("| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            k, desc, fmt_us(s[0]), fmt_us(s[1]), fmt_us(s[2]), fmt_us(p[0]), fmt_us(p[1]), fmt_us(p[2]),
            " / ".join(fmt_us(x[0]) for x in per), " / ".join(fmt_us(x[2]) for x in per)))
    out.append("")

    out.append("p50 / p99 / mean per category, best of the rounds, microseconds:\n")
    out.append("| category | " + " | ".join(k for k, _ in setups) + " |")
    out.append("| --- |" + " ---: |" * len(setups))
    for cat in CATEGORIES:
        cells = []
        for k, _ in setups:
            s = stats(bests(k, cat))
            cells.append("n/a" if not s else "%s / %s / %s" % (fmt_us(s[0]), fmt_us(s[1]), fmt_us(s[2])))
        out.append("| %s | %s |" % (cat, " | ".join(cells)))
    out.append("")

    def paired(a, b):
        """Median over queries of a's best time / b's."""
        r = [x[1] / y[1] for x, y in zip(best[a], best[b]) if y[1] > 0]
        return statistics.median(r) if r else None

    def div(sa, sb):
        return tuple(x / y if y else None for x, y in zip(sa, sb))

    out.append("Ratios (best of the rounds; pooled in the last two columns):\n")
    out.append("| ratio | p50 | p99 | mean | per-query median | pooled p50 | pooled mean |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for a, b, what in [
        ("reg-%d" % n, "big", "%d indexes of 1x against one of %dx (item 5)" % (n, n)),
        ("reg-%d-one" % n, "reg-1", "registry of %d against 1, the same index answering" % n),
        (many + "-one", "reg-1", "registry of %d against 1, the same index answering" % (n + tiny)),
        ("reg-%d" % n, "reg-1", "registry of %d round-robin against 1" % n),
        ("reg-%d-runs" % n, "reg-1", "registry of %d, runs of queries per index, against 1" % n),
        ("reg-%d" % n, "reg-%d-runs" % n, "switching index every query against runs (caches)"),
        (many, "reg-%d" % n, "%d more indexes registered, round-robin over the same %d" % (tiny, n)),
        ("reg-1", "default-1", "through the registry against the default index"),
    ]:
        if a not in summary or b not in summary:
            continue
        r = div(summary[a], summary[b]) + (paired(a, b),)
        p = div(summary_pooled[a], summary_pooled[b])
        out.append("| %s / %s: %s | %s | %s | %s | %s | %s | %s |" % (
            a, b, what, *(fmt_ratio(x) for x in r), fmt_ratio(p[0]), fmt_ratio(p[2])))
    out.append("")

    if runs.get("default-1"):
        base = runs["default-1"]
        cells = []
        for k, _ in setups:
            if k == "default-1":
                continue
            same = sum(1 for A, B in zip(runs[k], base) for x, y in zip(A, B) if x[2] == y[2])
            total = sum(min(len(A), len(B)) for A, B in zip(runs[k], base))
            cells.append("%s %d/%d" % (k, same, total))
        out.append("Same totals as default-1 (query by query): " + ", ".join(cells) + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
