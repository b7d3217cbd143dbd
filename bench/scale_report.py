#!/usr/bin/python3
"""bench/scale_report.py RESULTS_DIR [--write FILE]

Turns the files bench/scale leaves in RESULTS_DIR into one Markdown report:
per corpus size, the builds (default settings and --merge: seconds, peak
RSS, index size, segments), top-10 latency p50/p99/mean per query category,
queries/s with 1, 4 and 16 clients, xihud's memory; then issue 15's targets
as ratios of the largest size to 1x, measured in the same run.  Prints the
report and, with --write, puts it between the scale markers of FILE (added
at its end when missing).

Percentiles are nearest-rank over the measured queries (one timed pass
after one warm-up pass), as bench/report.py takes them.
"""
import os
import sys

# bench/run's report: its categories, key=value files and percentiles
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import CATEGORIES, read_kv, read_latency, stats  # noqa: E402

BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"


def read_records(path):
    """Lines of space-separated key=value pairs."""
    out = []
    if os.path.exists(path):
        for line in open(path):
            rec = dict(w.split("=", 1) for w in line.split() if "=" in w)
            if rec:
                out.append(rec)
    return out


def latencies(path):
    """Microseconds per category, as bench/loadgen --latency writes them."""
    by = read_latency(path) or {}
    return {c: [us for us, _ in by.get(c, [])] for c in CATEGORIES}


def qps(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            w = line.split()
            kv = dict(zip(w[0::2], w[1::2]))
            if "clients" in kv:
                out[int(kv["clients"])] = kv
    return out


def fmt(x, nd=0):
    if x is None:
        return "n/a"
    return f"{x:,.{nd}f}"


def report(res):
    meta = read_kv(os.path.join(res, "meta.txt"))
    corpora = {int(r["size"]): r for r in read_records(os.path.join(res, "corpora.txt"))}
    builds = {r["name"]: r for r in read_records(os.path.join(res, "builds.txt"))}
    sizes = sorted(corpora)
    if not sizes:
        sys.exit("bench/scale_report.py: %s: no corpora.txt: did bench/scale run?" % res)
    unit = float(meta.get("unit_bytes", corpora[sizes[0]]["bytes"]))
    lat = {n: latencies(os.path.join(res, f"lat-{n}x.tsv")) for n in sizes}
    thr = {n: qps(os.path.join(res, f"qps-{n}x.txt")) for n in sizes}
    dmem = {n: read_kv(os.path.join(res, f"daemon-{n}x.txt")) for n in sizes}
    rams = meta.get("rams", "256").split()
    w = []
    w.append("The latest output of `bench/scale` (issue 15). A benchmark, not a test: numbers move")
    w.append("with the machine and with whatever else runs on it; the load average is recorded.")
    w.append("")
    w.append(f"- **Date:** {meta.get('date', '?')}. **Machine:** {meta.get('cpu', '?')}, {meta.get('nproc', '?')} CPUs, "
             f"{meta.get('ram', '?')} RAM, Linux {meta.get('kernel', '?')}. **Load average** (1 min) at the start "
             f"{meta.get('load_start', '?')}, at the end {meta.get('load_end', '?')}.")
    w.append(f"- **xihu** {meta.get('xihu_version', '?')}, release build; xihud --threads {meta.get('threads', '?')}; "
             f"`xihu-index --no-ignore --ram-mb {rams[0]}` unless said; queries: bench/run's set (seed 61, "
             "the Linux tree's words), one warm-up pass, then one measured pass over one connection.")
    w.append("- **Corpus:** 1x is the Linux 6.1 tree; larger sizes add gcc-12, OpenJDK 17 and Go 1.19 "
             "sources, then copies of the Linux tree under other names.")
    w.append("")
    w.append("## Builds")
    w.append("")
    w.append("| size | corpus MB | files | build s | vs 1x | peak RSS MB | index MB | index / corpus | segments "
             "| `--merge` s | vs 1x | its peak RSS MB |")
    w.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    b1 = builds.get(f"{sizes[0]}x")
    m1 = builds.get(f"{sizes[0]}x-merge")
    for n in sizes:
        c = corpora[n]
        b = builds.get(f"{n}x")
        m = builds.get(f"{n}x-merge")
        mult = int(c["bytes"]) / unit
        w.append("| %.2fx | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            mult, fmt(int(c["bytes"]) / 1e6), fmt(int(c["files"])),
            fmt(float(b["seconds"]), 1) if b else "n/a",
            fmt(float(b["seconds"]) / float(b1["seconds"]), 2) if b and b1 else "n/a",
            fmt(int(b["peak_rss_kb"]) / 1024) if b else "n/a",
            fmt(int(b["index_bytes"]) / 1e6) if b else "n/a",
            fmt(int(b["index_bytes"]) / int(c["bytes"]), 3) if b else "n/a",
            b["segments"] if b else "n/a",
            fmt(float(m["seconds"]), 1) if m else "n/a",
            fmt(float(m["seconds"]) / float(m1["seconds"]), 2) if m and m1 else "n/a",
            fmt(int(m["peak_rss_kb"]) / 1024) if m else "n/a"))
    extra = [r for name, r in builds.items() if "-ram" in name]
    for r in extra:
        w.append("")
        w.append(f"At {r['name'].split('-')[0]} with `--ram-mb {r['ram_mb']}` (default settings otherwise): "
                 f"{fmt(float(r['seconds']), 1)} s, peak RSS {fmt(int(r['peak_rss_kb']) / 1024)} MB, "
                 f"{r['segments']} segments.")
    w.append("")
    w.append("## Top-10 latency through xihud, microseconds (default-settings index)")
    w.append("")
    head = "| category |" + "".join(f" {n}x p50 | p99 | mean |" for n in sizes)
    w.append(head)
    w.append("| --- |" + " ---: | ---: | ---: |" * len(sizes))
    for cat in CATEGORIES + ["all"]:
        row = f"| {'**all**' if cat == 'all' else cat} |"
        for n in sizes:
            vals = sum(lat[n].values(), []) if cat == "all" else lat[n][cat]
            s = stats(vals)
            row += " %s | %s | %s |" % ((fmt(s[0]), fmt(s[1]), fmt(s[2])) if s else ("n/a",) * 3)
        w.append(row)
    w.append("")
    w.append("## Throughput and memory")
    w.append("")
    w.append("| size | 1 client q/s | 4 clients | 16 clients | errors | xihud RssAnon MB | RssFile MB |")
    w.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in sizes:
        t = thr[n]
        errs = sum(int(t[c].get("errors", 0)) for c in t)
        d = dmem[n]
        w.append("| %dx | %s | %s | %s | %d | %s | %s |" % (
            n, *(fmt(float(t[c]["qps"])) if c in t else "n/a" for c in (1, 4, 16)), errs,
            fmt(int(d["RssAnon"].split()[0]) / 1024, 1) if "RssAnon" in d else "n/a",
            fmt(int(d["RssFile"].split()[0]) / 1024) if "RssFile" in d else "n/a"))
    # ---- targets
    big = sizes[-1]
    w.append("")
    w.append(f"## Issue 15 targets ({big}x against {sizes[0]}x, this run)")
    w.append("")
    w.append("| target | measured | met |")
    w.append("| --- | --- | :---: |")

    def target(name, value, ok):
        w.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")

    for name, r in sorted(builds.items()):
        if not name.startswith(f"{big}x"):
            continue
        ram = int(r["ram_mb"])
        rss = int(r["peak_rss_kb"]) / 1024
        target(f"peak RSS of `xihu-index` ({name}) <= --ram-mb {ram} + 128 MB", f"{fmt(rss)} MB",
               rss <= ram + 128)
    b = builds.get(f"{big}x")
    if b and b1:
        ratio = float(b["seconds"]) / float(b1["seconds"])
        target(f"build at {big}x <= 8.5 x build at 1x (default settings)",
               f"{ratio:.2f} x ({fmt(float(b['seconds']), 1)} s / {fmt(float(b1['seconds']), 1)} s)", ratio <= 8.5)
    s1 = stats(sum(lat[sizes[0]].values(), []))
    sb = stats(sum(lat[big].values(), []))
    if s1 and sb:
        for i, (what, bar) in enumerate((("p50", 2), ("p99", 3), ("mean", 3))):
            ratio = sb[i] / s1[i]
            target(f"query {what} at {big}x <= {bar} x 1x", f"{ratio:.2f} x ({fmt(sb[i])} / {fmt(s1[i])} us)",
                   ratio <= bar)
    km = meta.get("kill_merge")
    if km:
        lines = [l for l in open(os.path.join(res, "kill-merge.txt")) if "] " in l]
        said = "; ".join(l.split("] ", 1)[1].strip() for l in lines
                         if any(k in l for k in ("killed;", "MANIFEST", "the same", "gives the same", "otherwise", "differ")))
        target(f"xihu-index --merge at {big}x killed mid-merge: --check passes, the last commit's answers",
               said.replace("|", "/") or km, km == "ok")
    d = dmem[big]
    if "RssAnon" in d:
        anon = int(d["RssAnon"].split()[0]) / 1024
        target(f"xihud RssAnon at {big}x after the load stays small", f"{anon:.1f} MB", anon <= 64)
    return "\n".join(w) + "\n"


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if args else 2)
    text = report(args[0])
    print(text, end="")
    if len(args) >= 3 and args[1] == "--write":
        path = args[2]
        old = open(path).read() if os.path.exists(path) else ""
        block = f"{BEGIN}\n## Ten times the tree: `bench/scale` (issue 15)\n\n{text}{END}\n"
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END) + 1:]
        else:
            new = old + ("\n" if old and not old.endswith("\n\n") else "") + block
        open(path, "w").write(new)


if __name__ == "__main__":
    main()
