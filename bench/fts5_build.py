#!/usr/bin/python3
"""bench/fts5_build.py TREE DB: the SQLite FTS5 anchor for build time and size.

Indexes the files of TREE into fts5(path, body) the way xihu-index would see
them (no symlinks followed, .git skipped, NUL in the first 8 KiB = binary,
over 16 MiB skipped, invalid UTF-8 replaced), in one transaction, then runs
'optimize'.  Prints: files, seconds, bytes of the database file, bytes of
text indexed.
"""
import os
import sqlite3
import sys
import time

tree, db = sys.argv[1], sys.argv[2]
for suffix in ("", "-wal", "-journal"):
    if os.path.exists(db + suffix):
        os.unlink(db + suffix)

start = time.monotonic()
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode=OFF")
con.execute("PRAGMA synchronous=OFF")
con.execute("CREATE VIRTUAL TABLE docs USING fts5(path, body)")
files = text_bytes = 0
with con:
    for root, dirs, names in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if os.path.getsize(path) > 16 << 20:
                continue
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" in data[:8192]:
                continue
            con.execute("INSERT INTO docs(path, body) VALUES (?, ?)",
                        (os.path.relpath(path, tree), data.decode("utf-8", "replace")))
            files += 1
            text_bytes += len(data)
con.execute("INSERT INTO docs(docs) VALUES ('optimize')")
con.commit()
con.close()
seconds = time.monotonic() - start
print(files, "%.3f" % seconds, os.path.getsize(db), text_bytes)
