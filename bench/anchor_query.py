#!/usr/bin/python3
"""bench/anchor_query.py fts5|xapian INDEX QUERIES.tsv [--warmup N]

Top-10 latency of an anchor, in-process: runs every query of bench/queries.py's
set N times unmeasured (default 1), then once measured, and prints one line per
query as bench/loadgen --latency does: category, microseconds, matches (0 when
the engine does not count them cheaply), hits.

  fts5    SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10
          (rank is bm25()); the query in FTS5 syntax, every word quoted:
          "a", "a" AND "b", "a" OR "b", "a b", "pre"*
  xapian  Enquire with BM25Weight, get_mset(0, 10) on a Query built from the
          words: a term, OP_AND, OP_OR, OP_PHRASE, OP_WILDCARD (expanding to
          an OP_SYNONYM, as QueryParser does)

The time covers building the query and fetching the ten document ids, as
xihu's covers parsing its query string and returning the ten hits.
"""
import sys
import time


def load(path):
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        cat, op, words, _ = line.rstrip("\n").split("\t")
        rows.append((cat, op, words.split(" ")))
    return rows


def fts5_runner(db):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10"

    def q(op, words):
        quoted = ['"%s"' % w for w in words]
        if op == "term":
            return quoted[0]
        if op == "and":
            return " AND ".join(quoted)
        if op == "or":
            return " OR ".join(quoted)
        if op == "phrase":
            return '"%s"' % " ".join(words)
        return quoted[0] + "*"

    def run(op, words):
        return 0, len(con.execute(sql, (q(op, words),)).fetchall())
    return run


def xapian_runner(db):
    import xapian
    d = xapian.Database(db)
    enq = xapian.Enquire(d)
    enq.set_weighting_scheme(xapian.BM25Weight())
    Q = xapian.Query

    def run(op, words):
        if op == "term":
            query = Q(words[0])
        elif op == "and":
            query = Q(Q.OP_AND, [Q(w) for w in words])
        elif op == "or":
            query = Q(Q.OP_OR, [Q(w) for w in words])
        elif op == "phrase":
            query = Q(Q.OP_PHRASE, [Q(w) for w in words])
        else:
            query = Q(Q.OP_WILDCARD, words[0], 0, Q.WILDCARD_LIMIT_ERROR, Q.OP_SYNONYM)
        enq.set_query(query)
        mset = enq.get_mset(0, 10)
        return mset.get_matches_estimated(), len([m.docid for m in mset])
    return run


def main():
    engine, index, qfile = sys.argv[1:4]
    warmup = 1
    if len(sys.argv) > 5 and sys.argv[4] == "--warmup":
        warmup = int(sys.argv[5])
    run = {"fts5": fts5_runner, "xapian": xapian_runner}[engine](index)
    rows = load(qfile)
    for _ in range(warmup):
        for _, op, words in rows:
            run(op, words)
    out = []
    clock = time.perf_counter_ns
    for cat, op, words in rows:
        t0 = clock()
        total, hits = run(op, words)
        t1 = clock()
        out.append("%s\t%.1f\t%d\t%d" % (cat, (t1 - t0) / 1e3, total, hits))
    print("\n".join(out))


if __name__ == "__main__":
    main()
