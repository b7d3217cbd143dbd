#!/usr/bin/python3
"""tests/e2e/gentree.py init TREE SEED [FILES] | mutate TREE SEED | queries | serve:
seeded text trees for the crash and update tests, and queries over their
vocabulary.  "serve" reads one such command per line from stdin and answers
each with a line "ok" after its output (one Python start for a whole test).

init:   TREE gets FILES (default 2000) text files d00..d29/fNNNN.txt of 5..60
        lines drawn from a skewed 3,000-word vocabulary, a .gitignore that
        ignores *.skip, a few *.skip files and one binary file.
mutate: rewrites about 8% of the files, deletes 2% and adds 2% new ones
        (names carry the seed, so every mutation adds new names).
queries: one query per line: common, medium and rare words, AND, OR, NOT,
        a phrase, a prefix and a directory name (the path field).
The same SEED always makes the same tree; mutation picks come from SEED too.
"""
import os
import random
import sys

LETTERS = "abcdefghijklmnopqrstuvwxyz"
_vr = random.Random(7)
VOCAB = sorted({"".join(_vr.choice(LETTERS) for _ in range(_vr.randint(3, 9))) for _ in range(3000)})


def line(r):
    return " ".join(VOCAB[int(len(VOCAB) * r.random() ** 3)] for _ in range(r.randint(3, 12)))


_pool = []


def text(r):
    """5..60 lines: mostly drawn from a pool of 2,000 (fast), some fresh."""
    if not _pool:
        pr = random.Random(11)
        _pool.extend(line(pr) for _ in range(2000))
    lines = r.choices(_pool, k=r.randint(5, 60))
    lines[r.randrange(len(lines))] = line(r)
    return "\n".join(lines) + "\n"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)


def files(tree):
    out = []
    for root, dirs, names in os.walk(tree):
        dirs.sort()
        out += sorted(os.path.join(root, n) for n in names if n.endswith(".txt"))
    return out


def queries():
    v = VOCAB
    return [v[1800], v[2500], "%s %s" % (v[100], v[150]), "%s %s" % (v[200], v[250]),
            "%s OR %s" % (v[2000], v[2700]), '"%s %s"' % (v[2], v[3]), v[900][:4] + "*",
            "%s -%s" % (v[1000], v[450]), "d07 %s" % v[600]]


def run(args):
    """One command: init TREE SEED [FILES] | mutate TREE SEED | queries."""
    if args == ["queries"]:
        print("\n".join(queries()))
        return
    mode, tree, seed = args[0], args[1], int(args[2])
    r = random.Random(seed)
    if mode == "init":
        n = int(args[3]) if len(args) > 3 else 2000
        for i in range(n):
            write(os.path.join(tree, "d%02d" % (i % 30), "f%04d.txt" % i), text(r))
        write(os.path.join(tree, ".gitignore"), "*.skip\n")
        for i in range(5):
            write(os.path.join(tree, "d%02d" % i, "ignored%d.skip" % i), text(r))
        with open(os.path.join(tree, "d00", "blob.bin"), "wb") as f:
            f.write(b"\0binary " + bytes(range(256)) * 4)
    elif mode == "mutate":
        fs = files(tree)
        for p in fs:
            x = r.random()
            if x < 0.08:
                write(p, text(r))
            elif x < 0.10:
                os.unlink(p)
        for j in range(max(1, len(fs) * 2 // 100)):
            write(os.path.join(tree, "d%02d" % r.randrange(30), "n%d_%d.txt" % (seed, j)), text(r))
    else:
        raise ValueError("unknown command %r" % args)


def main():
    if sys.argv[1:] == ["serve"]:
        # one command per stdin line, each answered by "ok" (or "error ...")
        for cmd in sys.stdin:
            try:
                run(cmd.split())
                print("ok", flush=True)
            except Exception as e:  # the caller fails the test with it
                print("error %s" % e, flush=True)
        return
    try:
        run(sys.argv[1:])
    except (IndexError, ValueError):
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
