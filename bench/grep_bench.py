#!/usr/bin/python3
"""bench/grep_bench.py: bench/grep-parity's runner, report and stream client.

  grep_bench.py run --tree DIR --patterns P.jsonl --out DIR [--rg-only]
                    [--xihu ARGV_JSON] [--reps N] [--min-reps M] [--budget SECS]
                    [--exclude FILE] [--only CAT,...]
      For each pattern of P.jsonl (bench/grep_patterns.py), from DIR's root,
      stdin /dev/null, stdout to a file: `rg --no-ignore --hidden --vimgrep
      FLAGS -- PATTERN` and (unless --rg-only) `XIHU_ARGV grep --hidden
      --vimgrep FLAGS -- PATTERN` (the index was built with --no-ignore).  Each command runs once untimed (warm-up), then timed up to
      N times (default 5) while the timed runs so far took under SECS
      (default 1.0), but at least M times (--min-reps, default 3: one slow
      run on a busy machine is not a pattern's time); the median is its
      time, and its CPU time is beside it (rg's process, user + system,
      every thread; xihu's client's and, with --daemon-pid, xihud's CPU
      over the timed runs divided by their number, from /proc/PID/stat).  The last run's
      output is compared with the other tool's as a multiset of lines
      (sorted, so rg's thread order does not matter), with the exit status.
      Lines only rg prints from files outside xihu's index by its contract
      (--exclude: paths relative to the tree, one a line; the files over
      --max-file-size) are counted apart, not as differences.  One JSON
      object per pattern goes to OUT/results.jsonl (and a row to
      OUT/results.tsv), the outputs of a differing pattern to OUT/diff/.

  grep_bench.py report --out DIR [--meta FILE] [--write DOC]
      The summary: patterns per category, the rg sanity check (patterns
      matching nothing), differences, latency per category (p50, p90, max
      of xihu and of rg, ratios), the slowest per-pattern ratio, the -c -i
      struct check, the index's size; with --write, a marked section of DOC
      (replaced on each run, the rest of DOC left as it is).

  grep_bench.py stream --pid PID --rate BYTES_PER_S --lines N --out FILE -- ARGV...
      Runs ARGV (xihu grep ...), reads its stdout at BYTES_PER_S until N
      lines or its end, sampling /proc/PID/status (xihud's RssAnon, VmRSS)
      every 0.1 s, before, during and after; prints and writes the baseline
      and the peak.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter

BIG = 48 << 20   # compare outputs above this size with sort(1), not in memory
SAMPLES = 5      # lines shown per side of a difference


# ---------------------------------------------------------------- running

def proc_cpu(pid):
    """CPU seconds of process pid so far, every thread's, those that have
    exited too (/proc/PID/stat utime + stime: the kernel's precise runtime,
    shown in clock ticks), 0 without one.  xihud answers a grep on a thread
    of its own that is gone when the answer is: a thread's schedstat would
    miss it."""
    if not pid:
        return 0.0
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


TICK = os.sysconf("SC_CLK_TCK")


def run_once(argv, env, out_path, err_path):
    """(seconds, exit status, CPU seconds) of argv, stdout to out_path, stderr to
    err_path; the CPU time is the process's, user + system, every thread's."""
    fo = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fe = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fi = os.open("/dev/null", os.O_RDONLY)
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, fi, 0),
            (os.POSIX_SPAWN_DUP2, fo, 1),
            (os.POSIX_SPAWN_DUP2, fe, 2)])
        _, status, ru = os.wait4(pid, 0)
        t1 = time.perf_counter()
    finally:
        os.close(fo)
        os.close(fe)
        os.close(fi)
    return t1 - t0, os.waitstatus_to_exitcode(status), ru.ru_utime + ru.ru_stime


def timed(argv, env, out_path, err_path, reps, min_reps, budget, daemon=0):
    """Warm-up, then timed runs: at least min_reps, at most reps, no more once
    their sum reaches budget.  Its time is their median; its CPU time the
    median of the process's plus the mean of the daemon's (pid daemon) over
    the timed runs (the daemon's in clock ticks: the mean keeps its rounding
    under a tick / runs)."""
    run_once(argv, env, out_path, err_path)
    ts, cs = [], []
    rc = None
    d0 = proc_cpu(daemon)
    while len(ts) < reps and (len(ts) < min_reps or sum(ts) < budget):
        t, rc, c = run_once(argv, env, out_path, err_path)
        ts.append(t)
        cs.append(c)
    d1 = proc_cpu(daemon)
    with open(err_path, "rb") as f:
        err = f.read(4096).decode("utf-8", "replace").strip().split("\n")[0]
    return {"t": statistics.median(ts), "runs": [round(x, 6) for x in ts], "rc": rc,
            "cpu": statistics.median(cs) + (d1 - d0) / len(ts), "daemon_cpu": (d1 - d0) / len(ts),
            "bytes": os.path.getsize(out_path), "stderr": err}


def cmd_args(p):
    """The flags and patterns of pattern record p, as both tools take them."""
    if len(p["patterns"]) == 1:
        return p["flags"] + ["--", p["patterns"][0]]
    out = list(p["flags"])
    for x in p["patterns"]:
        out += ["-e", x]
    return out


# ---------------------------------------------------------------- comparing

def excluded_fn(paths):
    pre = [p.encode() for p in paths]
    if not pre:
        return lambda line: False

    def fn(line):
        for p in pre:
            if line.startswith(p) and (len(line) == len(p) or line[len(p)] in b":-"):
                return True
        return False
    return fn


def sorted_lines(path, workdir):
    """An iterator over the lines of path in byte order (sort(1) when large)."""
    if os.path.getsize(path) <= BIG:
        with open(path, "rb") as f:
            data = f.read().split(b"\n")
        if data and data[-1] == b"":
            data.pop()
        data.sort()
        return iter(data)
    out = os.path.join(workdir, os.path.basename(path) + ".sorted")
    env = dict(os.environ, LC_ALL="C")
    subprocess.run(["sort", "-S", "25%", "-T", workdir, "-o", out, path], env=env, check=True)

    def gen():
        with open(out, "rb") as f:
            for line in f:
                yield line[:-1] if line.endswith(b"\n") else line
        os.unlink(out)
    return gen()


def compare(rg_path, xihu_path, excluded, workdir):
    """Counts and samples of the lines only one side printed (multisets)."""
    a = sorted_lines(rg_path, workdir)
    b = sorted_lines(xihu_path, workdir)
    r = {"rg_lines": 0, "xihu_lines": 0, "only_rg": 0, "only_xihu": 0, "rg_outside": 0,
         "xihu_outside": 0, "only_rg_sample": [], "only_xihu_sample": [], "rg_files": 0}
    files = set()
    END = object()
    x = next(a, END)
    y = next(b, END)

    def take(side, line):
        if excluded(line):
            r[side + "_outside"] += 1
            return
        r["only_" + side] += 1
        s = r["only_%s_sample" % side]
        if len(s) < SAMPLES:
            s.append(line[:300].decode("utf-8", "replace"))

    def fname(line):
        i = line.find(b":")
        return line[:i] if i >= 0 else line

    while x is not END or y is not END:
        if y is END or (x is not END and x < y):
            r["rg_lines"] += 1
            files.add(fname(x))
            take("rg", x)
            x = next(a, END)
        elif x is END or y < x:
            r["xihu_lines"] += 1
            take("xihu", y)
            y = next(b, END)
        else:
            r["rg_lines"] += 1
            r["xihu_lines"] += 1
            files.add(fname(x))
            x = next(a, END)
            y = next(b, END)
    r["rg_files"] = len(files)
    return r


def count_rg(path, excluded):
    """rg's output alone: lines, files, lines from outside the index."""
    n = out = 0
    files = set()
    with open(path, "rb") as f:
        for line in f:
            n += 1
            if excluded(line):
                out += 1
            i = line.find(b":")
            files.add(line[:i] if i >= 0 else line.rstrip(b"\n"))
    return {"rg_lines": n, "rg_files": len(files), "rg_outside": out}


def cmd_run(a):
    with open(a.patterns, encoding="utf-8") as f:
        pats = [json.loads(l) for l in f if l.strip()]
    if a.only:
        cats = set(a.only.split(","))
        pats = [p for p in pats if p["cat"] in cats]
    excl = []
    if a.exclude and os.path.exists(a.exclude):
        with open(a.exclude) as f:
            excl = [l.rstrip("\n") for l in f if l.strip()]
    excluded = excluded_fn(excl)
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "tmp")
    diffdir = os.path.join(a.out, "diff")
    os.makedirs(tmp, exist_ok=True)
    shutil.rmtree(diffdir, ignore_errors=True)
    os.makedirs(diffdir)
    os.chdir(a.tree)
    rg = shutil.which("rg") or "/usr/bin/rg"
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C.UTF-8",
           "XIHU_NO_AUTOSTART": "1"}
    xihu = None if a.rg_only else json.loads(a.xihu)
    res = open(os.path.join(a.out, "results.jsonl"), "w", encoding="utf-8")
    tsv = open(os.path.join(a.out, "results.tsv"), "w", encoding="utf-8")
    tsv.write("id\tcat\tflags\tpattern\trg_s\trg_rc\trg_lines\txihu_s\txihu_rc\txihu_lines\t"
              "only_rg\tonly_xihu\trg_outside\tequal\n")
    t_start = time.time()
    ndiff = 0
    for k, p in enumerate(pats):
        args = cmd_args(p)
        ro, re_ = os.path.join(tmp, "rg.out"), os.path.join(tmp, "rg.err")
        xo, xe = os.path.join(tmp, "xihu.out"), os.path.join(tmp, "xihu.err")
        rec = dict(p)
        rec["rg"] = timed([rg, "--no-ignore", "--hidden", "--vimgrep"] + args, env, ro, re_,
                          a.reps, a.min_reps, a.budget)
        if xihu is None:
            rec.update(count_rg(ro, excluded))
        else:
            rec["xihu"] = timed(xihu + ["grep", "--hidden", "--vimgrep"] + args, env, xo, xe, a.reps, a.min_reps,
                                a.budget, a.daemon_pid)
            rec.update(compare(ro, xo, excluded, tmp))
            rec["equal"] = (rec["only_rg"] == 0 and rec["only_xihu"] == 0
                            and rec["rg"]["rc"] == rec["xihu"]["rc"])
            if not rec["equal"]:
                ndiff += 1
                shutil.copy(ro, os.path.join(diffdir, "%d.rg" % p["id"]))
                shutil.copy(xo, os.path.join(diffdir, "%d.xihu" % p["id"]))
                with open(xe, "rb") as f, open(os.path.join(diffdir, "%d.xihu.err" % p["id"]), "wb") as g:
                    g.write(f.read(1 << 20))
        res.write(json.dumps(rec, ensure_ascii=False) + "\n")
        res.flush()
        x = rec.get("xihu", {})
        tsv.write("\t".join(str(v) for v in [
            p["id"], p["cat"], " ".join(p["flags"]),
            " -e ".join(s.replace("\\", "\\\\").replace("\t", "\\t") for s in p["patterns"]),
            "%.6f" % rec["rg"]["t"], rec["rg"]["rc"], rec["rg_lines"],
            "%.6f" % x["t"] if x else "", x.get("rc", ""), rec.get("xihu_lines", ""),
            rec.get("only_rg", ""), rec.get("only_xihu", ""), rec["rg_outside"],
            rec.get("equal", "")]) + "\n")
        if (k + 1) % 25 == 0 or k + 1 == len(pats):
            print("   %d/%d patterns, %.0f s%s" % (k + 1, len(pats), time.time() - t_start,
                  "" if xihu is None else ", %d differ" % ndiff), file=sys.stderr, flush=True)
    res.close()
    tsv.close()
    shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- report

def pct(xs, q):
    """The q-th percentile, nearest rank."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def ms(x):
    if x is None:
        return "-"
    return "%.1f" % (x * 1000) if x >= 0.01 else "%.2f" % (x * 1000)


def ratio(a, b):
    return a / b if a is not None and b else None


def fr(x, spec="%.3f"):
    return "-" if x is None else spec % x


def show_pat(p):
    pats = p["patterns"]
    s = " ".join(p["flags"] + (["--", pats[0]] if len(pats) == 1 else
                                [y for x in pats for y in ("-e", x)]))
    return "`%s`" % s.replace("`", "'").replace("|", "\\|").replace("\t", "\\t")


def load_meta(path):
    m = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    m[k] = v
    return m


CATS = ["literal", "substring", "word", "icase", "regex", "hard", "options"]


def cmd_report(a):
    recs = []
    with open(os.path.join(a.out, "results.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    meta = load_meta(a.meta or os.path.join(a.out, "meta.txt"))
    has_x = any("xihu" in r for r in recs)
    out = []
    w = out.append
    cats = [c for c in CATS if any(r["cat"] == c for r in recs)]
    cats += sorted({r["cat"] for r in recs} - set(cats))

    w("- **Corpus:** %s: %s files, %.1f MB (%s)." % (
        meta.get("corpus", "?"), meta.get("tree_files", "?"),
        int(meta.get("tree_bytes", 0)) / 1e6, meta.get("tree", "?")))
    w("- **Date:** %s. **Machine:** %s, %s CPUs, %s. **Load average** (1 min) before %s, after %s." % (
        meta.get("date", "?"), meta.get("cpu", "?"), meta.get("nproc", "?"), meta.get("ram", "?"),
        meta.get("load_start", "?"), meta.get("load_end", "?")))
    w(("- **xihu** %s, release build; xihud --threads %s; " % (meta.get("xihu_version", "?"), meta.get("threads", "?"))
       if has_x else "- **xihu** not run; ") + "**rg** %s. Patterns: seed %s, %d "
      "(bench/grep_patterns.py); each command once untimed, then its median over %s to %s timed "
      "runs (no more once they took %s s), end to end: spawn to exit, stdout to a file." % (
          meta.get("rg_version", "?"), meta.get("seed", "?"), len(recs), meta.get("min_reps", "1"), meta.get("reps", "?"),
          meta.get("budget", "?")))
    if meta.get("notes"):
        w("- **Notes:** %s" % meta["notes"])
    w("")

    # ---- the patterns
    w("| category | patterns | with a match in rg | rg lines p50 | rg lines max |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for c in cats:
        rs = [r for r in recs if r["cat"] == c]
        ls = [r["rg_lines"] for r in rs]
        w("| %s | %d | %d | %d | %d |" % (c, len(rs), sum(1 for r in rs if r["rg"]["rc"] == 0),
                                          pct(ls, 50), max(ls)))
    w("| **all** | %d | %d | | |" % (len(recs), sum(1 for r in recs if r["rg"]["rc"] == 0)))
    w("")
    nomatch = [r for r in recs if r["rg"]["rc"] != 0 and "no match" not in (r.get("note") or "")
               and "-q" not in r["flags"]]
    errs = [r for r in recs if r["rg"]["rc"] == 2]
    if nomatch or errs:
        w("Sampled patterns rg finds nothing for (or fails on): %d" % len(nomatch))
        for r in nomatch[:10]:
            w("- #%d %s %s: exit %d %s" % (r["id"], r["cat"], show_pat(r), r["rg"]["rc"], r["rg"]["stderr"]))
        w("")
    outside = sum(r.get("rg_outside", 0) for r in recs)
    if outside:
        w("Lines rg printed from files outside xihu's index by its contract (%s), not counted as "
          "differences: %d, in %d patterns." % (meta.get("excluded_why", "--exclude"), outside,
                                                 sum(1 for r in recs if r.get("rg_outside"))))
        w("")

    # ---- parity
    targets = []
    if has_x:
        diffs = [r for r in recs if not r.get("equal")]
        w("**Parity:** %d of %d patterns give the same lines (as multisets) and exit status from "
          "`xihu grep` as from `rg`; %d differ." % (len(recs) - len(diffs), len(recs), len(diffs)))
        w("")
        def head(r):
            return "#%d %s %s (%s): rg %d lines exit %d, xihu %d lines exit %d; only in rg %d, only in xihu %d%s" % (
                r["id"], r["cat"], show_pat(r), r.get("source") or r.get("note") or "",
                r["rg_lines"], r["rg"]["rc"], r["xihu_lines"], r["xihu"]["rc"],
                r["only_rg"], r["only_xihu"],
                ("; xihu: " + r["xihu"]["stderr"][:200]) if r["xihu"]["stderr"] else "")

        # every difference in full to OUT/differences.txt; the report shows the
        # first --show in detail and the rest one line each (the doc at most 30)
        with open(os.path.join(a.out, "differences.txt"), "w", encoding="utf-8") as f:
            for r in diffs:
                f.write(head(r) + "\n")
                for s in r["only_rg_sample"]:
                    f.write("  rg only:   %s\n" % s)
                for s in r["only_xihu_sample"]:
                    f.write("  xihu only: %s\n" % s)
        for r in diffs[:a.show]:
            w("- " + head(r))
            for s in r["only_rg_sample"][:3]:
                w("  - rg only: `%s`" % s.replace("`", "'")[:200])
            for s in r["only_xihu_sample"][:3]:
                w("  - xihu only: `%s`" % s.replace("`", "'")[:200])
        rest = diffs[a.show:]
        brief = rest if not a.write else rest[:30]
        for r in brief:
            w("- " + head(r))
        if len(brief) < len(rest):
            w("- ... and %d more (bench/work/results-grep-%s/differences.txt)" % (
                len(rest) - len(brief), meta.get("mode", "full")))
        if diffs:
            w("")
        by_cat = Counter(r["cat"] for r in diffs)
        if by_cat:
            w("Differing patterns per category: " + ", ".join("%s %d" % (c, by_cat[c]) for c in cats if by_cat[c]))
            w("")
        targets.append(("every pattern: the same lines as rg", "%d differ" % len(diffs), not diffs))

    # ---- latency
    w("Latency, milliseconds, end to end (one process per search, output to a file):")
    w("")
    if has_x:
        w("| category | n | xihu p50 | p90 | max | rg p50 | p90 | max | p50 xihu/rg | p90 xihu/rg |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    else:
        w("| category | n | rg p50 | p90 | max |")
        w("| --- | ---: | ---: | ---: | ---: |")
    allr = None
    for c in cats + ["all"]:
        rs = recs if c == "all" else [r for r in recs if r["cat"] == c]
        rt = [r["rg"]["t"] for r in rs]
        cell = "**all**" if c == "all" else c
        if has_x:
            xt = [r["xihu"]["t"] for r in rs if "xihu" in r]
            r50, r90 = ratio(pct(xt, 50), pct(rt, 50)), ratio(pct(xt, 90), pct(rt, 90))
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                cell, len(rs), ms(pct(xt, 50)), ms(pct(xt, 90)), ms(max(xt) if xt else None),
                ms(pct(rt, 50)), ms(pct(rt, 90)), ms(max(rt)), fr(r50), fr(r90)))
            if c == "all":
                allr = (r50, r90)
        else:
            w("| %s | %d | %s | %s | %s |" % (cell, len(rs), ms(pct(rt, 50)), ms(pct(rt, 90)), ms(max(rt))))
    w("")
    if has_x:
        w("By the size of the answer (rg's output lines), wall clock:")
        w("")
        w("| rg lines | n | xihu p50 | p90 | rg p50 | p90 | p50 xihu/rg | p90 xihu/rg |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for lo, hi, name in [(0, 100, "0-99"), (100, 10000, "100-9,999"), (10000, 100000, "10,000-99,999"),
                             (100000, 1 << 62, ">= 100,000")]:
            rs = [r for r in recs if lo <= r["rg_lines"] < hi]
            if not rs:
                continue
            xt = [r["xihu"]["t"] for r in rs]
            rt = [r["rg"]["t"] for r in rs]
            w("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                name, len(rs), ms(pct(xt, 50)), ms(pct(xt, 90)), ms(pct(rt, 50)), ms(pct(rt, 90)),
                fr(ratio(pct(xt, 50), pct(rt, 50))), fr(ratio(pct(xt, 90), pct(rt, 90)))))
        w("")
    if has_x and all("cpu" in r["rg"] and "cpu" in r.get("xihu", {}) for r in recs):
        w("CPU time per search, milliseconds (rg: its process, user + system, every thread; xihu: the "
          "client's, and xihud's over the timed runs divided by their number): less at the mercy of "
          "other load than the wall clock on a shared machine.")
        w("")
        w("| category | n | xihu p50 | p90 | rg p50 | p90 | p50 xihu/rg | p90 xihu/rg |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in cats + ["all"]:
            rs = recs if c == "all" else [r for r in recs if r["cat"] == c]
            xc = [r["xihu"]["cpu"] for r in rs]
            rc_ = [r["rg"]["cpu"] for r in rs]
            w("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                "**all**" if c == "all" else c, len(rs), ms(pct(xc, 50)), ms(pct(xc, 90)),
                ms(pct(rc_, 50)), ms(pct(rc_, 90)), fr(ratio(pct(xc, 50), pct(rc_, 50))),
                fr(ratio(pct(xc, 90), pct(rc_, 90)))))
        w("")
    if has_x:
        per = sorted(((r["xihu"]["t"] / r["rg"]["t"], r) for r in recs if r["rg"]["t"] > 0),
                     key=lambda x: -x[0])
        over = [x for x in per if x[0] > 1.2]
        w("Slowest patterns relative to rg (xihu/rg per pattern): " + "; ".join(
            "%.2f #%d %s %s (xihu %s ms, rg %s ms)" % (q, r["id"], r["cat"], show_pat(r),
                                                      ms(r["xihu"]["t"]), ms(r["rg"]["t"]))
            for q, r in per[:5]) + ". Over 1.2: %d." % len(over))
        w("")
        targets.append(("p50 <= 0.02 x rg's (all patterns)", fr(allr[0]), allr[0] is not None and allr[0] <= 0.02))
        targets.append(("p90 <= 0.15 x rg's (all patterns)", fr(allr[1]), allr[1] is not None and allr[1] <= 0.15))
        targets.append(("no pattern over 1.2 x rg's time", "%.2f (#%d)" % (per[0][0], per[0][1]["id"]) if per else "-",
                        bool(per) and per[0][0] <= 1.2))

    # ---- -c -i struct
    sc = [r for r in recs if r["cat"] == "hard" and r["flags"] == ["-c", "-i"] and r["patterns"] == ["struct"]]
    if sc and has_x:
        r = sc[0]
        w("`-c -i struct`: rg lists %d files, xihu %d; %s." % (
            r["rg_lines"], r["xihu_lines"],
            "files and counts equal" if r["equal"] else
            "%d lines (path:count) only in rg, %d only in xihu" % (r["only_rg"], r["only_xihu"])))
        w("")
        targets.append(("`xihu grep -c -i struct` = `rg -c -i`: files and counts", "equal" if r["equal"] else
                        "%d/%d lines differ" % (r["only_rg"], r["only_xihu"]), r["equal"]))

    # ---- index
    ib, tb = meta.get("index_bytes"), meta.get("tree_bytes")
    if ib and tb:
        q = int(ib) / int(tb)
        w("Index: `xihu-index --merge --no-ignore` %s s, %.1f MB (%s of it n-grams) for %.1f MB of corpus: %.3f of the corpus%s." % (
            meta.get("index_s", "?"), int(ib) / 1e6,
            "%.1f MB" % (int(meta["grams_bytes"]) / 1e6) if meta.get("grams_bytes") else "?",
            int(tb) / 1e6, q, (", %s documents" % meta["index_docs"]) if meta.get("index_docs") else ""))
        w("")
        targets.append(("index bytes <= 0.65 x corpus bytes", "%.3f" % q, q <= 0.65))

    # ---- streaming
    sp = os.path.join(a.out, "stream.json")
    if os.path.exists(sp):
        with open(sp) as f:
            st = json.load(f)
        i = st["argv"].index("grep") if "grep" in st["argv"] else 0
        w("Streaming (%s): `xihu %s` read by a client at %.1f MB/s: %d lines, %.1f MB in %.0f s%s, "
          "client exit %d. xihud's RssAnon: %.1f MB before, peak %.1f MB during the read, %.1f MB "
          "1 s after (%d samples, every 0.1 s)." % (
              st["date"], " ".join(st["argv"][i:]), st["rate"] / 1e6, st["lines"], st["bytes"] / 1e6,
              st["read_s"], " (then the client stopped reading)" if st["stopped_reading"] else "",
              st["client_rc"], st["baseline_rssanon_kb"] / 1024, st["peak_rssanon_kb"] / 1024,
              st["after_rssanon_kb"] / 1024, st["samples"]))
        w("")
        pk = st["peak_rssanon_kb"]
        targets.append(("streaming 1 M lines to a 1 MB/s reader: xihud RssAnon peak <= 64 MB",
                        "%.1f MB" % (pk / 1024), pk <= 64 * 1024))

    if targets:
        w("| target | measured | met |")
        w("| --- | --- | :---: |")
        for name, v, ok in targets:
            w("| %s | %s | %s |" % (name, v, "yes" if ok else "**no**"))
        w("")

    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if a.write:
        write_section(a.write, "grep-parity", "## Exact search: `xihu grep` beside ripgrep (bench/grep-parity, issue 14)",
                      "The latest output of `bench/grep-parity%s`. A benchmark, not a test." % (
                          " --quick" if meta.get("mode") == "quick" else ""), text)


def write_section(doc, name, title, intro, body):
    """Replaces DOC's section between <!-- NAME:begin --> and <!-- NAME:end -->
    (appended at the end when there is none)."""
    begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    sec = "%s\n%s\n\n%s\n\n%s%s\n" % (begin, title, intro, body, end)
    old = open(doc, encoding="utf-8").read() if os.path.exists(doc) else ""
    i, j = old.find(begin), old.find(end)
    if i >= 0 and j > i:
        new = old[:i] + sec + old[j + len(end) + 1:]
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + sec
    tmp = doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, doc)


# ---------------------------------------------------------------- stream

def rss_of(pid):
    d = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("RssAnon", "VmRSS", "RssFile", "VmHWM"):
                    d[k] = int(v.split()[0])
    except OSError:
        pass
    return d


def cmd_stream(a):
    samples = []
    stop = threading.Event()
    t0 = time.perf_counter()

    def sampler():
        while not stop.is_set():
            d = rss_of(a.pid)
            if d:
                samples.append((time.perf_counter() - t0, d.get("RssAnon", 0), d.get("VmRSS", 0)))
            stop.wait(0.1)

    base = []
    for _ in range(10):
        base.append(rss_of(a.pid).get("RssAnon", 0))
        time.sleep(0.1)
    baseline = max(base)
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    env = dict(os.environ, XIHU_NO_AUTOSTART="1")
    p = subprocess.Popen(a.argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, bufsize=0)
    nbytes = nlines = 0
    chunk = max(1, int(a.rate) // 50)     # 50 reads a second
    tr = time.perf_counter()
    partial_stop = False
    while True:
        buf = p.stdout.read(chunk)
        if not buf:
            break
        nbytes += len(buf)
        nlines += buf.count(b"\n")
        if nlines >= a.lines:
            partial_stop = True
            break
        # the rate: nbytes may not run ahead of rate * elapsed
        ahead = nbytes / a.rate - (time.perf_counter() - tr)
        if ahead > 0:
            time.sleep(ahead)
    read_s = time.perf_counter() - tr
    p.stdout.close()
    rc = p.wait()
    time.sleep(1.0)   # the daemon's after-state
    stop.set()
    th.join()
    after = rss_of(a.pid).get("RssAnon", 0)
    peak = max([s[1] for s in samples] or [0])
    peak_rss = max([s[2] for s in samples] or [0])
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "argv": a.argv,
           "lines": nlines, "bytes": nbytes, "read_s": round(read_s, 2),
           "rate": a.rate, "stopped_reading": partial_stop, "client_rc": rc,
           "baseline_rssanon_kb": baseline, "peak_rssanon_kb": peak, "after_rssanon_kb": after,
           "peak_vmrss_kb": peak_rss, "samples": len(samples)}
    with open(a.out, "w") as f:
        json.dump(res, f)
        f.write("\n")
    with open(a.out + ".samples.tsv", "w") as f:
        f.write("t_s\trssanon_kb\tvmrss_kb\n")
        for s in samples:
            f.write("%.2f\t%d\t%d\n" % s)
    print("read %d lines, %.1f MB in %.1f s (%.2f MB/s)%s; client exit %d" % (
        nlines, nbytes / 1e6, read_s, nbytes / 1e6 / read_s if read_s else 0,
        ", then stopped reading" if partial_stop else "", rc))
    print("xihud RssAnon: baseline %.1f MB, peak %.1f MB during the read, %.1f MB 1 s after; "
          "peak VmRSS %.1f MB (%d samples)" % (baseline / 1024, peak / 1024, after / 1024,
                                               peak_rss / 1024, len(samples)))
    print("target: peak RssAnon <= 64 MB: %s" % ("yes" if peak <= 64 * 1024 else "**no**"))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tree", required=True)
    r.add_argument("--patterns", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--rg-only", action="store_true")
    r.add_argument("--xihu")
    r.add_argument("--reps", type=int, default=5)
    r.add_argument("--budget", type=float, default=1.0)
    r.add_argument("--min-reps", type=int, default=3)
    r.add_argument("--exclude")
    r.add_argument("--only")
    r.add_argument("--daemon-pid", type=int, default=0)
    p = sub.add_parser("report")
    p.add_argument("--out", required=True)
    p.add_argument("--meta")
    p.add_argument("--write")
    p.add_argument("--show", type=int, default=10)
    s = sub.add_parser("stream")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--rate", type=float, default=1e6)
    s.add_argument("--lines", type=int, default=1000000)
    s.add_argument("--out", required=True)
    s.add_argument("argv", nargs="+")
    a = ap.parse_args()
    if a.cmd == "run":
        if not a.rg_only and not a.xihu:
            ap.error("run: --xihu ARGV_JSON or --rg-only")
        cmd_run(a)
    elif a.cmd == "report":
        cmd_report(a)
    else:
        cmd_stream(a)


if __name__ == "__main__":
    main()
