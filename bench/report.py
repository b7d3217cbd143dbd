#!/usr/bin/python3
"""bench/report.py RESULTS_DIR [--write FILE]

Turns the files bench/run leaves in RESULTS_DIR into one Markdown report:
build time and index size of xihu, SQLite FTS5 and Xapian; top-10 latency
p50/p99/mean per query category; xihud's queries/s with 1, 4 and 16 clients;
its anonymous memory; and issue 3's targets as ratios to the anchors.  Prints
the report and, with --write, stores it in FILE too.

Percentiles are nearest-rank over the measured queries (one timed pass after
one warm-up pass, every engine alike).
"""
import math
import os
import re
import sys

CATEGORIES = ["term-rare", "term-medium", "term-common", "and", "or", "phrase", "prefix"]
ENGINES = [("xihu", "xihu (xihud, socket)"), ("fts5", "SQLite FTS5"), ("xapian", "Xapian")]


def read_kv(path):
    kv = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                kv[k] = v
    return kv


def read_fields(path):
    if not os.path.exists(path):
        return None
    return open(path).read().split()


def read_latency(path):
    if not os.path.exists(path):
        return None
    by = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) < 4:
            continue
        by.setdefault(f[0], []).append((float(f[1]), int(f[3])))
    return by


def pct(values, p):
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def stats(values):
    if not values:
        return None
    return pct(values, 50), pct(values, 99), sum(values) / len(values)


def fmt_us(x):
    if x is None:
        return "n/a"
    return "%.0f" % x if x >= 10 else "%.1f" % x


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    rdir = sys.argv[1]
    write = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--write" else None
    meta = read_kv(os.path.join(rdir, "meta.txt"))
    builds = {e: read_fields(os.path.join(rdir, "build-%s.txt" % e)) for e, _ in ENGINES}
    lat = {e: read_latency(os.path.join(rdir, "lat-%s.tsv" % e)) for e, _ in ENGINES}
    qps = [l.split() for l in open(os.path.join(rdir, "qps.txt"))] if os.path.exists(
        os.path.join(rdir, "qps.txt")) else []
    rss = read_kv(os.path.join(rdir, "rss.txt"))
    upd = {}
    if os.path.exists(os.path.join(rdir, "update.txt")):
        upd = dict(kv.split("=", 1) for kv in open(os.path.join(rdir, "update.txt")).read().split())
    text_bytes = int(meta.get("text_bytes", "0") or 0)

    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w("The latest output of `bench/run%s` (issue 3). A benchmark, not a test: numbers move"
      % (" --quick" if meta.get("mode") == "quick" else ""))
    w("with the machine and with whatever else runs on it; the load average is recorded.")
    w("")
    w("- **Corpus:** %s: %s files, %.1f MB of text indexed (%s files, %.1f MB in the tree)."
      % (meta.get("corpus", "?"), meta.get("text_files", "?"), text_bytes / 1e6,
         meta.get("tree_files", "?"), int(meta.get("tree_bytes", "0")) / 1e6))
    w("- **Date:** %s. **Machine:** %s, %s CPUs, %s RAM, Linux %s."
      % (meta.get("date", "?"), meta.get("cpu", "?"), meta.get("nproc", "?"),
         meta.get("ram", "?"), meta.get("kernel", "?")))
    w("- **Load average** (1 min) before the builds %s, before the queries %s, after %s."
      % (meta.get("load_start", "?"), meta.get("load_queries", "?"), meta.get("load_end", "?")))
    w("- **xihu** %s; xihud --threads %s; query set: seed %s, %s queries (bench/queries.py)."
      % (meta.get("xihu_version", "?"), meta.get("threads", "?"), meta.get("seed", "?"),
         meta.get("nqueries", "?")))
    if meta.get("notes"):
        w("- **Notes:** %s" % meta["notes"])
    w("")

    # ---- build and size
    w("## Build and size")
    w("")
    w("| engine | build s | index MB | index / text | documents |")
    w("| --- | ---: | ---: | ---: | ---: |")
    bsec, bbytes = {}, {}
    for e, name in ENGINES:
        b = builds[e]
        if not b:
            w("| %s | n/a | n/a | n/a | n/a |" % name)
            continue
        if e == "xihu":  # seconds bytes peak_rss_kb docs
            sec, size, docs = float(b[0]), int(b[1]), b[3] if len(b) > 3 else "?"
        else:  # files seconds bytes text_bytes
            sec, size, docs = float(b[1]), int(b[2]), b[0]
        bsec[e], bbytes[e] = sec, size
        w("| %s | %.1f | %.1f | %.2f | %s |" % (name, sec, size / 1e6,
                                               size / text_bytes if text_bytes else 0, docs))
    if builds["xihu"] and len(builds["xihu"]) > 2:
        w("")
        w("xihu-index peak RSS: %.0f MB." % (int(builds["xihu"][2]) / 1024))
    w("")
    w("Each build is timed from an empty start to a finished, compacted index: "
      "`xihu-index --merge` (the tree, then every segment merged into one), "
      "FTS5's inserts then its 'optimize', Xapian's TermGenerator then its commit.")
    w("")

    # ---- latency
    w("## Top-10 latency, microseconds")
    w("")
    w("xihu through xihud over one persistent Unix-socket connection (bench/loadgen --latency,")
    w("documents only, no lines); the anchors in-process from Python (bench/anchor_query.py).")
    w("Each query once unmeasured, then once measured.")
    w("")
    head = "| category |"
    rule = "| --- |"
    for e, name in ENGINES:
        head += " %s p50 | p99 | mean |" % name
        rule += " ---: | ---: | ---: |"
    w(head)
    w(rule)
    cat_stats = {e: {} for e, _ in ENGINES}
    for cat in CATEGORIES + ["all"]:
        row = "| %s |" % ("**all**" if cat == "all" else cat)
        for e, _ in ENGINES:
            by = lat[e]
            if not by:
                row += " n/a | n/a | n/a |"
                continue
            vals = [t for c in by for t, _ in by[c]] if cat == "all" else [t for t, _ in by.get(cat, [])]
            s = stats(vals)
            cat_stats[e][cat] = s
            row += " %s | %s | %s |" % tuple(fmt_us(x) for x in s) if s else " n/a | n/a | n/a |"
        w(row)
    w("")
    w("Queries with no hit, per engine (the engines cut words alike, so these should agree):")
    w("")
    w("| category |" + "".join(" %s |" % name for _, name in ENGINES))
    w("| --- |" + " ---: |" * len(ENGINES))
    for cat in CATEGORIES:
        row = "| %s |" % cat
        for e, _ in ENGINES:
            by = lat[e]
            row += " %s |" % (sum(1 for _, h in by.get(cat, []) if h == 0) if by else "n/a")
        w(row)
    w("")

    # ---- throughput and memory
    w("## Throughput and memory")
    w("")
    w("xihud --threads %s; bench/loadgen on the same machine keeps N connections busy, one"
      % meta.get("threads", "?"))
    w("request in flight on each, cycling through the mixed query set, for %s s after 1 s of"
      % meta.get("duration", "?"))
    w("warm-up.")
    w("")
    w("| clients | queries/s | p50 us | p99 us | errors |")
    w("| ---: | ---: | ---: | ---: | ---: |")
    qps_at = {}
    for f in qps:
        d = dict(zip(f[0::2], f[1::2]))
        qps_at[int(d["clients"])] = float(d["qps"])
        w("| %s | %.0f | %s | %s | %s |" % (d["clients"], float(d["qps"]), d["p50_us"],
                                            d["p99_us"], d["errors"]))
    w("")
    anon = int(rss.get("RssAnon", "0")) if rss else 0
    if rss:
        w("xihud after the load: RssAnon %.1f MB (anonymous: heap, stacks), RssFile %.1f MB"
          % (anon / 1024, int(rss.get("RssFile", "0")) / 1024))
        w("(mapped index pages, page cache), VmRSS %.1f MB, VmHWM %.1f MB."
          % (int(rss.get("VmRSS", "0")) / 1024, int(rss.get("VmHWM", "0")) / 1024))
    if upd:
        w("")
        w("One file changed (a word appended): `xihu-index` on the same tree took %s s; xihud"
          % ("%.2f" % float(upd["index_s"])))
        w("served the new word %s after the run started."
          % ("%.2f s" % float(upd["served_s"]) if upd["served_s"] != "never" else "**never** (10 s)"))
    w("")

    # ---- targets
    w("## Issue 3 targets")
    w("")
    w("| target | measured | met |")
    w("| --- | --- | :---: |")

    def target(name, value, ok, fmt="%.2f"):
        if value is None:
            w("| %s | n/a | ? |" % name)
        else:
            w("| %s | %s | %s |" % (name, fmt % value if not isinstance(value, str) else value,
                                    "yes" if ok else "**no**"))

    r = ratio(bsec.get("xihu"), bsec.get("fts5"))
    target("build time <= 0.9 x FTS5's", r, r is not None and r <= 0.9)
    r = ratio(bsec.get("xihu"), bsec.get("xapian"))
    target("build time <= 0.15 x Xapian's", r, r is not None and r <= 0.15)
    r = ratio(bbytes.get("xihu"), text_bytes)
    target("index bytes <= 0.5 x corpus bytes", r, r is not None and r <= 0.5)
    xs, xa, fa = cat_stats["xihu"].get("all"), cat_stats["xapian"].get("all"), cat_stats["fts5"].get("all")
    r = ratio(xs[0], xa[0]) if xs and xa else None
    target("p50 <= 0.5 x Xapian's (all queries)", r, r is not None and r <= 0.5)
    r = ratio(xs[1], xa[1]) if xs and xa else None
    target("p99 <= 0.5 x Xapian's (all queries)", r, r is not None and r <= 0.5)
    worst = None
    for cat in CATEGORIES:
        a, b = cat_stats["xihu"].get(cat), cat_stats["xapian"].get(cat)
        if a and b and b[0]:
            rr = a[0] / b[0]
            if worst is None or rr > worst[1]:
                worst = (cat, rr)
    target("no category p50 above Xapian's (worst xihu/Xapian p50)",
           "%s %.2f" % worst if worst else None, worst is not None and worst[1] <= 1.0)
    r = ratio(xs[2], fa[2]) if xs and fa else None
    target("mean <= 0.1 x FTS5's mean", r, r is not None and r <= 0.1)
    q16 = qps_at.get(16)
    target(">= 15,000 queries/s with 16 clients", q16, q16 is not None and q16 >= 15000, "%.0f")
    target("daemon RSS without mapped index pages <= 64 MB", anon / 1024 if rss else None,
           rss and anon <= 64 * 1024, "%.1f MB")
    ui = float(upd["index_s"]) if upd else None
    target("one file changed: xihu-index <= 1 s", ui, ui is not None and ui <= 1.0, "%.2f s")
    us = upd.get("served_s") if upd else None
    target("... and xihud serves the change", None if us is None else
           ("%.2f s after the start" % float(us) if us != "never" else "never"),
           us is not None and us != "never")
    w("")

    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    write_old = ""
    if write and os.path.exists(write):
        with open(write) as f:
            write_old = f.read()
    if write:
        with open(write, "w") as f:
            f.write(text + kept_sections(write_old))


def kept_sections(old):
    """What other benchmarks and people keep in the same file after this
    report: everything from the first <!-- NAME:begin --> marker on (the
    marked sections of bench/grep-parity and bench/scale, and the prose
    between and after them), carried over as it was."""
    m = re.search(r"<!-- [\w-]+:begin -->", old)
    return "\n" + old[m.start():] if m else ""


if __name__ == "__main__":
    main()
