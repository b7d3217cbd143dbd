#!/usr/bin/python3
"""bench/grep_patterns.py TREE OUT.jsonl [--seed N] [--patterns N]

The pattern set of bench/grep-parity (issue 14): patterns sampled from the
lines of TREE itself from a fixed seed, so that each matches at least the line
it came from, plus fixed hard cases.  One JSON object per line of OUT:

  {"id": 17, "cat": "literal", "flags": ["-F"], "patterns": ["dev->priv"],
   "source": "drivers/net/x.c:120", "note": "..."}

run as `rg --no-ignore --hidden --vimgrep FLAGS -- PATTERN` (several patterns
as -e PAT each) and `xihu grep --vimgrep FLAGS -- PATTERN`, both from TREE's
root.  Categories (with N patterns, N - |fixed| split evenly over the five
sampled ones):

  literal    2 to 4 tokens of a line with their punctuation and spaces
             (`dev->priv`, `.probe =`): half with -F, half escaped as
             regex::escape does (every one of \\.+*?()|[]{}^$#&-~)
  substring  4 to 8 bytes from inside an identifier (`IS_MODU`, `ilter_de`),
             never the whole identifier; a quarter with -F
  word       whole identifiers with -w; one in eight is a token with
             punctuation at an edge (`->priv`, `foo(`), where rg's -w
             ((?:^|\\W)PAT(?:\\W|$)) and \\bPAT\\b part ways
  icase      -i literals of 4 to 20 characters with their case scrambled,
             a third (when the tree has them) holding non-ASCII letters
             (Documentation/translations, MAINTAINERS, CREDITS...), some
             with -S instead (all lower case: insensitive; else sensitive)
  regex      classes, alternation, repetition, anchors and \\b built around
             real identifiers of the line (`kmalloc_\\w+\\(`,
             `^static int .*_probe`, `\\b(foo|bar)_init\\b`, `[A-Z]{3,}_MAX`),
             each checked with Python's re against its line
  hard       fixed: `\\w+\\(` (no trigram), `dentif` (SPDX headers: most
             files), a pattern with no match, -c -i struct, 2-byte -F `->`,
             a short -w word
  options    fixed: -l, -c, -m, -C, -g, -e twice, -q, -S

Only lines of regular files of at most 16 MiB without a NUL in their first
8 KiB that are valid UTF-8 are sampled (what xihu indexes and rg searches
alike).
"""
import argparse
import json
import os
import random
import re
import sys
import unicodedata

MAX_FILE = 16 << 20
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")


def rust_escape(s):
    """regex::escape (regex 1.x): a backslash before each of \\.+*?()|[]{}^$#&-~"""
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$#&-~" else c for c in s)


def files_of(tree):
    out = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in (".git", ".hg", ".svn"))
        for f in sorted(files):
            p = os.path.join(root, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.stat.S_ISREG(st.st_mode) or st.st_size == 0 or st.st_size > MAX_FILE:
                continue
            out.append(os.path.relpath(p, tree))
    return out


class Tree:
    def __init__(self, tree, rng):
        self.tree = tree
        self.rng = rng
        self.files = files_of(tree)
        self.cache = {}

    def lines(self, rel):
        if rel in self.cache:
            return self.cache[rel]
        try:
            with open(os.path.join(self.tree, rel), "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        lines = []
        if b"\0" not in data[:8192]:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if "\0" not in text and "\r" not in text:
                lines = text.split("\n")
        if len(self.cache) > 4096:
            self.cache.clear()
        self.cache[rel] = lines
        return lines

    def random_line(self, minlen=8, files=None):
        """(rel, 1-based line number, line) of a random file's random line."""
        pool = files or self.files
        for _ in range(1000):
            rel = self.rng.choice(pool)
            ls = self.lines(rel)
            if not ls:
                continue
            for _ in range(8):
                i = self.rng.randrange(len(ls))
                s = ls[i]
                if len(s.strip()) >= minlen and len(s) <= 400 and "\t" not in s.strip():
                    return rel, i + 1, s
        raise SystemExit("grep_patterns.py: no usable lines in the tree")


def cased(c):
    """A letter whose simple upper and lower case map one to one."""
    u, l = c.upper(), c.lower()
    return (u != l and len(u) == 1 and len(l) == 1 and u.lower() == l and l.upper() == u
            and c not in "ıİſ\u212a\u212bßẞ")


def scramble(rng, s):
    """s with the case of its letters changed at random, at least one of them."""
    idx = [i for i, c in enumerate(s) if cased(c)]
    if not idx:
        return None
    out = list(s)
    mode = rng.random()
    for i in idx:
        c = s[i]
        if mode < 0.3:
            out[i] = c.upper()
        elif mode < 0.45:
            out[i] = c.lower()
        elif rng.random() < 0.5:
            out[i] = c.swapcase()
    if "".join(out) == s:
        i = rng.choice(idx)
        out[i] = s[i].swapcase()
    return "".join(out)


# ---- one generator per category: (flags, pattern, note) or None

def gen_literal(rng, line):
    toks = [m.group(0) for m in TOKEN.finditer(line)]
    nonspace = [i for i, t in enumerate(toks) if not t.isspace()]
    if len(nonspace) < 2:
        return None
    k = rng.randint(2, 4)
    j = rng.randrange(len(nonspace))
    sel = nonspace[j:j + k]
    if len(sel) < 2:
        return None
    s = "".join(toks[sel[0]:sel[-1] + 1])
    if not re.search(r"[^\w\s]", s) or not re.search(r"\w", s) or len(s) < 3 or len(s) > 40:
        return None
    if "  " in s:
        return None
    if rng.random() < 0.5:
        return ["-F"], s, "fixed"
    return [], rust_escape(s), "escaped"


def gen_substring(rng, line):
    ids = [m.group(0) for m in IDENT.finditer(line) if len(m.group(0)) >= 6]
    if not ids:
        return None
    w = rng.choice(ids)
    n = rng.randint(4, min(8, len(w) - 1))
    a = rng.randrange(0, len(w) - n + 1)
    s = w[a:a + n]
    if s == w:
        return None
    return (["-F"] if rng.random() < 0.25 else []), s, None


def gen_word(rng, line):
    if rng.random() < 0.125:
        # a token with punctuation at one edge: rg -w and \b disagree here
        m = list(re.finditer(r"(?:->|[.(\[*&!~-])\w{3,}|\w{3,}(?:\(|\)|->|\[|;|,)", line))
        if not m:
            return None
        s = rng.choice(m).group(0)
        # as rg -w reads it: no word character on either side of the match
        if not re.search(r"(?:^|\W)" + re.escape(s) + r"(?:\W|$)", line):
            return None
        return ["-w", "-F"], s, "punctuation at an edge"
    ids = [m.group(0) for m in re.finditer(r"\w+", line) if len(m.group(0)) >= 3 and len(m.group(0)) <= 32]
    if not ids:
        return None
    w = rng.choice(ids)
    return (["-w", "-F"] if rng.random() < 0.25 else ["-w"]), w, None


def gen_icase(rng, line, want_nonascii):
    if want_nonascii:
        pos = [i for i, c in enumerate(line) if ord(c) > 127 and cased(c)]
        if not pos:
            return None
        p = rng.choice(pos)
        n = rng.randint(4, 16)
        a = max(0, p - rng.randint(0, n - 1))
        s = line[a:a + n].strip()
    else:
        n = rng.randint(4, 20)
        if len(line) <= n:
            return None
        a = rng.randrange(0, len(line) - n)
        s = line[a:a + n].strip()
    if len(s) < 4 or "  " in s:
        return None
    r = rng.random()
    if r < 0.1:
        # smart case: all lower case searches caseless, anything else exactly
        lo = s.lower() if all(cased(c) or not c.isalpha() for c in s) else None
        if lo is None:
            return None
        pat = lo if rng.random() < 0.6 else s
        if not any(c.isalpha() for c in pat):
            return None
        return ["-S", "-F"], pat, "smart case"
    t = scramble(rng, s)
    if t is None:
        return None
    if r < 0.55:
        return ["-i", "-F"], t, "fixed"
    return ["-i"], rust_escape(t), "escaped"


def split_ident(w):
    """prefix, suffix of an identifier at its last underscore."""
    i = w.rfind("_", 1, len(w) - 1)
    if i < 0:
        return None
    return w[:i], w[i + 1:]


REGEX_KINDS = [
    "prefix, \\w+, call", "anchor ^, .*, \\b", "alternation in \\b", "class with {n,}",
    "hex class {n}", "\\d+ in brackets", ".*", ".{0,n}", "optional ?", "[Xx] class",
    "anchor $", "\\s* and $", "(?i), (?:)?", "Unicode \\w, \\b",
]


class RegexGen:
    """Regexes around the identifiers of a line, checked against it."""

    def __init__(self, rng):
        self.rng = rng
        self.by_suffix = {}   # "init" -> {"foo", "bar"}: for (a|b)_init

    def learn(self, line):
        for m in IDENT.finditer(line):
            ps = split_ident(m.group(0))
            if ps and 2 <= len(ps[0]) <= 20 and 3 <= len(ps[1]) <= 16:
                self.by_suffix.setdefault(ps[1], set()).add(ps[0])

    def templates(self, line):
        rng = self.rng
        ids = [m for m in IDENT.finditer(line) if len(m.group(0)) >= 4]
        out = []
        # kmalloc_\w+\(
        for m in re.finditer(r"\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)_\w+\(", line):
            if len(m.group(1)) >= 3:
                out.append((rust_escape(m.group(1)) + r"_\w+\(", "prefix, \\w+, call"))
        # ^static int .*_probe
        m = re.match(r"^((?:static|extern|const|unsigned|struct|int|void|bool|long|u\d+|size_t|char) )"
                     r"((?:\w+ \**){0,2})\**(\w+)", line)
        if m:
            ps = split_ident(m.group(3))
            if ps:
                out.append(("^" + m.group(1) + r"\w+.*_" + ps[1] + r"\b", "anchor ^, .*, \\b"))
        # \b(foo|bar)_init\b
        for m in ids:
            ps = split_ident(m.group(0))
            if ps and ps[1] in self.by_suffix:
                others = sorted(self.by_suffix[ps[1]] - {ps[0]})
                if others and 3 <= len(ps[1]):
                    o = rng.choice(others)
                    alts = [ps[0], o]
                    rng.shuffle(alts)
                    out.append((r"\b(" + "|".join(alts) + ")_" + ps[1] + r"\b", "alternation in \\b"))
        # [A-Z]{3,}_MAX
        for m in re.finditer(r"\b([A-Z][A-Z0-9]{2,})_([A-Z][A-Z0-9_]{1,15})\b", line):
            lo = min(3, len(m.group(1)))
            out.append(("[A-Z]{%d,}_%s" % (lo, m.group(2)), "class with {n,}"))
        # 0x[0-9a-fA-F]{8}
        for m in re.finditer(r"\b(\w{3,})(\W{1,3})0x([0-9a-fA-F]+)\b", line):
            n = len(m.group(3))
            out.append((rust_escape(m.group(1)) + r"\W{1,3}0x[0-9a-fA-F]{%d}\b" % n, "hex class {n}"))
        # IDENT\[\d+\]
        for m in re.finditer(r"\b(\w{3,})\[(\d+)\]", line):
            out.append((rust_escape(m.group(1)) + r"\[\d+\]", "\\d+ in brackets"))
        # two identifiers of the line, with .* or .{0,N} between
        if len(ids) >= 2:
            i = rng.randrange(len(ids) - 1)
            a, b = ids[i], ids[rng.randrange(i + 1, len(ids))]
            gap = b.start() - a.end()
            if gap >= 0:
                if rng.random() < 0.5:
                    out.append((rust_escape(a.group(0)) + ".*" + rust_escape(b.group(0)), ".*"))
                else:
                    out.append((rust_escape(a.group(0)) + ".{0,%d}" % (gap + 5) + rust_escape(b.group(0)), ".{0,n}"))
        # an optional letter, a class of two cases
        for m in ids:
            w = m.group(0)
            if len(w) >= 6:
                k = rng.randrange(1, len(w) - 1)
                out.append((w[:k] + w[k] + "?" + w[k + 1:], "optional ?"))
                c = w[0]
                if c.isalpha():
                    out.append(("[" + c.upper() + c.lower() + "]" + w[1:] + r"\b", "[Xx] class"))
                break
        # IDENT\($ and ;\s*$
        m = re.search(r"(\w{3,})\($", line)
        if m:
            out.append((rust_escape(m.group(1)) + r"\($", "anchor $"))
        m = re.search(r"(\w{4,})\s*;\s*$", line)
        if m:
            out.append((rust_escape(m.group(1)) + r"\s*;\s*$", "\\s* and $"))
        # (?i) inline, spin_(un)?lock style
        for m in ids:
            w = m.group(0)
            ps = split_ident(w)
            if ps and len(ps[0]) >= 3 and len(ps[1]) >= 3:
                out.append(("(?i)" + ps[0].swapcase() + "_(?:" + ps[1][:2] + ")?" + ps[1][2:] + r"\w*", "(?i), (?:)?"))
                break
        # a non-ASCII word: \w and \b over Unicode
        for m in re.finditer(r"\w+", line):
            w = m.group(0)
            j = next((i for i, c in enumerate(w) if ord(c) > 127), -1)
            if len(w) >= 3 and 0 <= j <= 6:
                out.append((r"\b" + w[:j + 1] + (r"\w+\b" if j + 1 < len(w) else r"\w*\b"),
                            "Unicode \\w, \\b"))
                break
        return out

    def gen(self, rng, line, kind):
        self.learn(line)
        t = [x for x in self.templates(line) if x[1] == kind]
        if not t:
            return None
        pat, note = rng.choice(t)
        try:
            if not re.search(pat, line):
                return None
        except re.error:
            return None
        return [], pat, note


HARD = [
    ([], r"\w+\(", "no trigram, most lines of code"),
    ([], "dentif", "SPDX-License-Identifier: nearly every file"),
    (["-c", "-i"], "struct", "the -c -i struct check"),
    (["-F"], "->", "2 bytes: no trigram"),
    (["-w"], "of", "a 2-letter word"),
]

OPTIONS = [
    (["-l", "-F"], "MODULE_LICENSE(\"GPL\")", "-l"),
    (["-c"], r"EXPORT_SYMBOL_GPL\(", "-c"),
    (["-m", "1", "-F"], "EXPORT_SYMBOL", "-m 1"),
    (["-m", "2", "-w"], "goto", "-m 2 -w"),
    (["-C", "2", "-F"], "fallthrough;", "-C 2 (context lines path-N-text)"),
    (["-C", "1", "-w"], "BUG", "-C 1 -w"),
    (["-g", "*.h", "-F"], "u32", "-g *.h"),
    (["-g", "!*.c", "-F"], "TODO", "-g !*.c"),
    (["-g", "*.rst", "-i"], "kernel", "-g *.rst -i"),
    (["-e", r"kfree_skb\(", "-e", r"consume_skb\("], None, "-e twice"),
    (["-q", "-F"], "spin_lock_irqsave", "-q: exit status only"),
    (["-S"], "Copyright", "-S with a capital: case-sensitive"),
    (["-S"], "copyright", "-S all lower case: caseless"),
    (["-l", "-w", "-i"], "todo", "-l -w -i"),
    (["-w", "-c", "-F"], "int", "-w -c"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--patterns", type=int, default=525)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    t = Tree(a.tree, rng)
    if not t.files:
        raise SystemExit("grep_patterns.py: %s: no files" % a.tree)
    # a pattern found nowhere: checked against every file of the tree below
    nomatch = "xihu_" + "".join(rng.choice("bcdfghjkmpqrstvwxz") for _ in range(10)) + "_absent"
    fixed = HARD + [([], nomatch, "no match anywhere")] + OPTIONS
    per = max(1, -(-(a.patterns - len(fixed)) // 5))

    # files likely to hold non-ASCII letters first, for icase
    intl = [f for f in t.files if "translations" in f.split(os.sep) or os.path.basename(f) in ("MAINTAINERS", "CREDITS")]
    nonascii_lines = []
    scan = intl + rng.sample(t.files, min(len(t.files), 3000))
    for rel in scan:
        for i, s in enumerate(t.lines(rel)):
            if len(s) <= 400 and any(ord(c) > 127 and cased(c) for c in s):
                nonascii_lines.append((rel, i + 1, s))
    # interleaved by script (Latin, Greek, Cyrillic...), then by file, so that
    # the Italian translations do not take every non-ASCII pick
    groups = {}
    for x in nonascii_lines:
        c = next(c for c in x[2] if ord(c) > 127 and cased(c))
        script = unicodedata.name(c, "?").split()[0]
        groups.setdefault(script, {}).setdefault(x[0], []).append(x)
    na_scripts = {sc: sum(len(v) for v in groups[sc].values()) for sc in groups}
    scripts = {}
    for sc, byfile in sorted(groups.items()):
        files = sorted(byfile)
        rng.shuffle(files)
        for f in files:
            rng.shuffle(byfile[f])
        # round robin over files
        seq, i = [], 0
        while any(byfile[f] for f in files):
            for f in files:
                if byfile[f]:
                    seq.append(byfile[f].pop())
        scripts[sc] = seq
    nonascii_lines = []
    while any(scripts.values()):
        for sc in sorted(scripts):
            if scripts[sc]:
                nonascii_lines.append(scripts[sc].pop(0))

    seen = set()
    out = []

    def add(cat, flags, pats, source, note):
        key = (tuple(flags), tuple(pats))
        if key in seen or any("\n" in p or "\0" in p for p in pats):
            return False
        seen.add(key)
        out.append({"id": len(out) + 1, "cat": cat, "flags": flags, "patterns": pats,
                    "source": source, "note": note})
        return True

    rg = RegexGen(rng)
    gens = [("literal", gen_literal), ("substring", gen_substring), ("word", gen_word)]
    for cat, g in gens:
        n = tries = 0
        while n < per and tries < per * 500:
            tries += 1
            rel, ln, line = t.random_line()
            r = g(rng, line)
            if r and add(cat, r[0], [r[1]], "%s:%d" % (rel, ln), r[2]):
                n += 1

    n = tries = 0
    want_na = min(len(nonascii_lines), -(-per // 3))
    na = na_at = 0
    while n < per and tries < per * 500:
        tries += 1
        if na < want_na and nonascii_lines:
            rel, ln, line = nonascii_lines[na_at % len(nonascii_lines)]
            na_at += 1
            r = gen_icase(rng, line, True)
            if r and add("icase", r[0], [r[1]], "%s:%d" % (rel, ln), (r[2] or "") + ", non-ASCII"):
                n += 1
                na += 1
            continue
        rel, ln, line = t.random_line()
        r = gen_icase(rng, line, False)
        if r and add("icase", r[0], [r[1]], "%s:%d" % (rel, ln), r[2]):
            n += 1

    # regexes: learn suffixes from a first batch of lines, so (a|b)_x finds pairs
    for _ in range(2000):
        rg.learn(t.random_line()[2])
    # one kind of regex after the other, each from the first line that has it
    n = 0
    kinds = list(REGEX_KINDS)
    k = 0
    while n < per and kinds:
        kind = kinds[k % len(kinds)]
        for tries in range(4000):
            if kind == "Unicode \\w, \\b":
                rel, ln, line = nonascii_lines[rng.randrange(len(nonascii_lines))] if nonascii_lines else t.random_line()
            else:
                rel, ln, line = t.random_line()
            r = rg.gen(rng, line, kind)
            if not r:
                continue
            flags = ["-i"] if rng.random() < 0.08 else []
            if add("regex", flags, [r[1]], "%s:%d" % (rel, ln), r[2]):
                n += 1
                k += 1
                break
        else:
            kinds.remove(kind)

    for flags, pat, note in HARD + [([], nomatch, "no match anywhere")]:
        add("hard", list(flags), [pat], None, note)
    for flags, pat, note in OPTIONS:
        if pat is None:
            pats = [flags[i + 1] for i in range(len(flags)) if flags[i] == "-e"]
            fl = [f for i, f in enumerate(flags) if f != "-e" and (i == 0 or flags[i - 1] != "-e")]
            add("options", fl, pats, None, note)
        else:
            add("options", list(flags), [pat], None, note)

    with open(a.out, "w", encoding="utf-8") as f:
        for p in out:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    counts = {}
    for p in out:
        counts[p["cat"]] = counts.get(p["cat"], 0) + 1
    print("grep_patterns.py: %d patterns (%s), seed %d; lines with non-ASCII letters found: %s"
          % (len(out), ", ".join("%s %d" % kv for kv in counts.items()), a.seed,
             ", ".join("%s %d" % kv for kv in sorted(na_scripts.items())) or "none"),
          file=sys.stderr)


if __name__ == "__main__":
    main()
