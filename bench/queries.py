#!/usr/bin/python3
"""bench/queries.py FTS5_DB TREE OUT.tsv [--seed N] [--per-category N]

Generates the benchmark's query set (SPEC section 7) from a fixed seed, the
same for every engine: one-term rare, medium and common; two-term AND; two-term
OR; two-word phrase; prefix.  Term statistics come from the FTS5 anchor's
vocabulary (fts5vocab 'col', the body column: documents per term, exact, over
the whole corpus); AND and OR pairs are two words of one file of TREE, phrases
two words that stand next to each other in one, the files picked by the seed.  Only words of 3 to 24 ASCII letters are used, so that xihu, FTS5
and Xapian (given '_' as a space) cut and fold them alike.

With N documents:
  term-rare     a term in 2..10 documents
  term-medium   a term in N/1000..N/100 documents
  term-common   a term in at least N/10 documents
  and, or       two words of one file: one in at least N/100 documents, the
                other in at least N/1000 (so an AND has at least one match)
  phrase        two adjacent words from the text, each in at least N/1000 documents
  prefix        4 to 6 leading letters of a term in at least N/1000 documents,
                expanding to 2..1000 terms

OUT has one query per line: category, op (term|and|or|phrase|prefix), the
words separated by spaces, and the query in xihu's syntax (docs/QUERY.md).
The anchors translate category/op/words themselves (bench/anchor_query.py).
"""
import argparse
import bisect
import os
import random
import re
import sqlite3

WORD = re.compile(r"^[a-z]{3,24}$")
WORDS = re.compile(rb"(?<![A-Za-z0-9_])[A-Za-z]{3,24}(?![A-Za-z0-9_])")
PAIR = re.compile(rb"(?<![A-Za-z0-9_])([A-Za-z]{3,24}) ([A-Za-z]{3,24})(?![A-Za-z0-9_])")


def xihu_query(op, words):
    if op == "term":
        return words[0]
    if op == "and":
        return " ".join(words)
    if op == "or":
        return " OR ".join(words)
    if op == "phrase":
        return '"%s"' % " ".join(words)
    return words[0] + "*"


def sample(rng, pool, n):
    """n picks from pool: without replacement when it is large enough."""
    if len(pool) >= n:
        return rng.sample(pool, n)
    return [rng.choice(pool) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("tree")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=61)
    ap.add_argument("--per-category", type=int, default=100)
    a = ap.parse_args()
    per = a.per_category

    con = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    con.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, 'docs', 'col')")
    ndocs = con.execute("SELECT count(*) FROM docs").fetchone()[0]
    df = {}
    every = []  # all terms, to count what a prefix expands to
    for term, docs in con.execute("SELECT term, doc FROM temp.vocab WHERE col = 'body'"):
        every.append(term)
        if WORD.match(term):
            df[term] = docs
    con.close()
    terms = sorted(df)
    every.sort()

    def pool(lo, hi=None):
        return [t for t in terms if df[t] >= lo and (hi is None or df[t] <= hi)]

    rare = pool(2, 10)
    medium = pool(max(2, ndocs // 1000), max(3, ndocs // 100))
    common = pool(max(2, ndocs // 10))
    frequent = pool(max(2, ndocs // 100))
    known = pool(max(2, ndocs // 1000))
    known_set = set(known)
    rng = random.Random(a.seed)
    rows = []
    for cat, p in (("term-rare", rare), ("term-medium", medium), ("term-common", common)):
        for t in sample(rng, p, per):
            rows.append((cat, "term", [t]))
    files = []
    for root, dirs, names in os.walk(a.tree):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            path = os.path.join(root, name)
            if not os.path.islink(path) and os.path.isfile(path):
                files.append(path)

    def text_of(path):
        with open(path, "rb") as f:
            data = f.read(1 << 20)
        return None if b"\0" in data[:8192] else data

    # AND and OR: two words of one file picked by the seed
    frequent_set = set(frequent)
    for op in ("and", "or"):
        seen = set()
        tries = 0
        while len(seen) < per and tries < 100 * per:
            tries += 1
            data = text_of(rng.choice(files))
            if data is None:
                continue
            words = sorted(set(w.lower().decode() for w in WORDS.findall(data)))
            xs = [w for w in words if w in frequent_set]
            ys = [w for w in words if w in known_set]
            if not xs or not ys:
                continue
            x, y = rng.choice(xs), rng.choice(ys)
            if x != y and (x, y) not in seen:
                seen.add((x, y))
                rows.append((op, op, [x, y]))

    # phrases: a pair of adjacent words from files picked by the seed
    phrases = []
    seen = set()
    tries = 0
    while len(phrases) < per and tries < 100 * per:
        tries += 1
        data = text_of(rng.choice(files))
        if data is None:
            continue
        pairs = [(x.lower().decode(), y.lower().decode()) for x, y in PAIR.findall(data)]
        pairs = [p for p in pairs if p[0] != p[1] and p[0] in known_set and p[1] in known_set]
        if not pairs:
            continue
        p = rng.choice(pairs)
        if p not in seen:
            seen.add(p)
            phrases.append(p)
    for p in phrases:
        rows.append(("phrase", "phrase", list(p)))

    # prefixes: expanding to a moderate number of terms of the vocabulary
    prefixes = []
    seen = set()
    tries = 0
    while len(prefixes) < per and tries < 100 * per:
        tries += 1
        t = rng.choice(known)
        n = rng.randint(4, 6)
        if len(t) <= n:
            continue
        pre = t[:n]
        lo = bisect.bisect_left(every, pre)
        hi = bisect.bisect_left(every, pre + "\U0010ffff")
        if 2 <= hi - lo <= 1000 and pre not in seen:
            seen.add(pre)
            prefixes.append(pre)
    for pre in prefixes:
        rows.append(("prefix", "prefix", [pre]))

    with open(a.out, "w") as f:
        f.write("# seed %d, %d documents; category, op, words, xihu query\n" % (a.seed, ndocs))
        for cat, op, words in rows:
            f.write("%s\t%s\t%s\t%s\n" % (cat, op, " ".join(words), xihu_query(op, words)))
    counts = {}
    for cat, _, _ in rows:
        counts[cat] = counts.get(cat, 0) + 1
    print(" ".join("%s=%d" % kv for kv in counts.items()))


if __name__ == "__main__":
    main()
