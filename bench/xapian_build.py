#!/usr/bin/python3
"""bench/xapian_build.py TREE DBDIR: the Xapian anchor for build time and size.

Indexes the files of TREE into a new Xapian database at DBDIR with the files
chosen exactly as bench/fts5_build.py chooses them (no symlinks followed, .git
skipped, NUL in the first 8 KiB = binary, over 16 MiB skipped, invalid UTF-8
replaced): a TermGenerator with positions (index_text), no stemmer, BM25 at
query time; the relative path is the document data.  '_' is turned into a
space first so that Xapian cuts words where xihu and FTS5 do (Xapian counts
'_' as a word character; the other two do not), and the benchmark's queries
mean the same thing in all three engines.  One commit at the end (Xapian
flushes every XAPIAN_FLUSH_THRESHOLD documents on its own).

Prints: files, seconds, bytes of the database directory, bytes of text.
"""
import os
import shutil
import sys
import time

import xapian

tree, db = sys.argv[1], sys.argv[2]
if os.path.exists(db):
    shutil.rmtree(db)

start = time.monotonic()
wdb = xapian.WritableDatabase(db, xapian.DB_CREATE_OR_OVERWRITE)
tg = xapian.TermGenerator()
files = text_bytes = 0
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
        doc = xapian.Document()
        tg.set_document(doc)
        tg.index_text(data.decode("utf-8", "replace").replace("_", " "))
        doc.set_data(os.path.relpath(path, tree))
        wdb.add_document(doc)
        files += 1
        text_bytes += len(data)
wdb.commit()
wdb.close()
seconds = time.monotonic() - start
size = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(db) for n in ns)
print(files, "%.3f" % seconds, size, text_bytes)
