#!/usr/bin/env python3
"""seeds.py: writes the hand-made seeds of fuzz_request, fuzz_frame,
fuzz_segment, fuzz_html, fuzz_jsonl, fuzz_gz and fuzz_grepframe.

Run from anywhere: python3 tests/fuzz/seeds.py.  The protobuf is encoded by
hand (proto/xihu.proto's field numbers), so nothing but Python is needed.
The fuzz_query seeds are plain query strings and the fuzz_segment seeds are
patch descriptions (tests/fuzz/README.md); the fuzz_html, fuzz_jsonl and
fuzz_gz seeds are files as an indexed tree may hold them; the corpora also
hold what libFuzzer found and -merge=1 kept.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def search(query, limit=0, offset=0, lines=False, max_lines=0, context=0,
           exact=False, suggest=False, timeout=0):
    m = field_bytes(1, query.encode()) if query is not None else b""
    for num, v in ((2, limit), (3, offset), (4, int(lines)), (5, max_lines),
                   (6, timeout), (7, int(exact)), (8, context), (9, int(suggest))):
        if v:
            m += field_varint(num, v)
    return m


def request(rid=1, version=1, body=None, kind=10):
    m = b""
    if rid:
        m += field_varint(1, rid)
    if version:
        m += field_varint(2, version)
    if body is not None:
        m += field_bytes(kind, body)
    return m


def frame(body):
    return struct.pack(">I", len(body)) + body


BODIES = {
    "search-term": request(1, 1, search("fox")),
    "search-lines": request(2, 1, search("quick brown", limit=3, lines=True, max_lines=2)),
    "search-context": request(3, 1, search("\"brown dogs\"", lines=True, context=2)),
    "search-paging": request(4, 1, search("fox OR dog", limit=2, offset=1, exact=True)),
    "search-suggest": request(5, 1, search("quikc browm", suggest=True)),
    "search-fields": request(6, 1, search("title:war ext:c path:*.md", lines=True)),
    "search-prefix-fuzzy": request(7, 1, search("run* runing~1 fox NEAR/2 dog")),
    "search-syntax-error": request(8, 1, search("(fox OR")),
    "search-over-limit": request(9, 1, search("fox", limit=9000, offset=5000)),
    "search-huge-context": request(10, 1, search("fox", lines=True, context=100000, max_lines=100000)),
    "search-empty": request(11, 1, search(None)),
    "status": request(12, 1, b"", kind=11),
    "stop": request(13, 1, b"", kind=12),
    "no-body": request(14, 1),
    "wrong-version": request(15, 7, search("fox")),
    "version-zero": request(16, 0, search("fox")),
    "big-id": request(2**64 - 1, 1, search("fox")),
    "not-protobuf": b"\xff\xff\xff\xff\x0f garbage",
    "truncated": request(17, 1, search("quick brown fox"))[:-3],
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for name, body in BODIES.items():
        write("fuzz_request", "raw-" + name, b"\x00" + body)
    # structured: flags byte, id, limit, offset, max_lines, context, timeout, query
    def st(flags, query, limit=10, offset=0, max_lines=0, context=0):
        return (b"\x01" + bytes([flags]) + struct.pack("<Q", 42) +
                bytes([limit, offset, 0, max_lines, context, 0]) + query.encode())
    write("fuzz_request", "st-search", st(0, "fox dog"))
    write("fuzz_request", "st-search-lines", st(8 | 32, "brown*", max_lines=3, context=1))
    write("fuzz_request", "st-search-exact-paging", st(16 | 64 | 128, "the", limit=1, offset=2))
    write("fuzz_request", "st-status", st(1, ""))
    write("fuzz_request", "st-stop", st(2, ""))
    write("fuzz_request", "st-bad-version", st(4, "fox"))

    # frames: byte 0 = largest piece 2^(b&15), bit 4 = a 300-byte limit; byte 1 = piece seed
    pipeline = b"".join(frame(BODIES[k]) for k in
                        ("search-term", "status", "search-lines", "wrong-version", "stop", "search-term"))
    write("fuzz_frame", "pipeline-whole", b"\x0f\x00" + pipeline)
    write("fuzz_frame", "pipeline-bytewise", b"\x00\x00" + pipeline)
    write("fuzz_frame", "pipeline-small-pieces", b"\x03\x05" + pipeline)
    write("fuzz_frame", "zero-length", b"\x0f\x00" + frame(BODIES["status"]) + b"\0\0\0\0")
    write("fuzz_frame", "over-limit", b"\x1f\x00" + frame(BODIES["status"]) + struct.pack(">I", 301) + b"x" * 301)
    write("fuzz_frame", "over-default-limit", b"\x0f\x00" + struct.pack(">I", (1 << 20) + 1) + b"x" * 64)
    write("fuzz_frame", "partial-at-end", b"\x04\x01" + frame(BODIES["search-term"]) + frame(BODIES["status"])[:-2])
    write("fuzz_frame", "not-a-request", b"\x0f\x00" + frame(BODIES["not-protobuf"]) + frame(BODIES["status"]))
    write("fuzz_frame", "header-split", b"\x01\x07" + frame(BODIES["search-context"]) * 3)
    big = request(20, 1, search("fox " * 5000))
    write("fuzz_frame", "big-frame-grows-buffer", b"\x0e\x02" + frame(big) + frame(BODIES["status"]))

    # fuzz_segment: byte 0 = file (in name order: 000000000001.docs .grams
    # .pos .post .store .terms, 000000000001_2.del, 000000000002.docs .grams
    # .pos .post .store .terms, MANIFEST, SETTINGS), byte 1 = flags (1 truncate,
    # 2 reseal, 4 remove, 8 set), then [truncated length], then patches (u16
    # offset, value)
    names = ["docs1", "grams1", "pos1", "post1", "store1", "terms1", "del1", "docs2", "grams2",
             "pos2", "post2", "store2", "terms2", "manifest", "settings"]
    write("fuzz_segment", "pristine", b"\x00\x00")
    for i, n in enumerate(names):
        write("fuzz_segment", n + "-bad-magic", bytes([i, 0]) + b"\x00\x00\x01")
        write("fuzz_segment", n + "-bad-crc", bytes([i, 0]) + b"\x00\x20\x40")
        write("fuzz_segment", n + "-resealed-payload", bytes([i, 2]) + b"\x00\x10\x7f\x00\x14\x80\x00\x20\x01")
        write("fuzz_segment", n + "-resealed-version", bytes([i, 2 | 8]) + b"\x00\x08\x05")
        write("fuzz_segment", n + "-truncated", bytes([i, 1]) + b"\x00\x30")
        write("fuzz_segment", n + "-truncated-resealed", bytes([i, 3]) + b"\x00\x40")
        write("fuzz_segment", n + "-envelope-only", bytes([i, 3]) + b"\x00\x1c")
        write("fuzz_segment", n + "-removed", bytes([i, 4]))

    html_seeds()
    jsonl_seeds()
    gz_seeds()
    grepframe_seeds()


HTML = {
    "page": b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Caf&eacute; &amp; cr&egrave;me</title>
<style>body { color: red } p > a { x: "</p>" }</style>
<script type="text/javascript">if (a < b && c > d) document.write("</div>");</script>
</head><body>
<!-- a comment
over two lines -->
<h1 class="t" title='a > b'>War &amp; Peace</h1>
<p>The <b>qu</b>ick <em>brown</em> fox<br>jumps&nbsp;over the <a href="x?a=1&amp;b=2">lazy</a> dog.</p>
<table><tr><td>one</td><td>two</td></tr></table>
<![CDATA[ raw <stuff> ]]><?php echo "x"; ?>
</body></html>
""",
    "references": b"&amp; &lt;&gt; &quot;&apos; &copy;&reg;&trade; &euro;&hellip; &Omega;&omega; "
                  b"&#65;&#x42;&#X43; &#233;&#xe9; &#128;&#x9f;&#129; &#0;&#xD800;&#xDFFF;&#1114111;&#1114112; "
                  b"&#9;&#10;&#13;&#127; &#99999999999999999999; &#x110000;\n",
    "references-not": b"&amp &unknown; &#; &#x; &#xg; &; &&amp;; &#65 &toolongname; a & b &#1 2;\n",
    "unterminated-tag": b"text <div class=\"a\n more text with no end",
    "unterminated-quote": b"<p title=\"open>one</p>\n<p>two</p> <i>three</i>",
    "unterminated-comment": b"before <!-- never closed\n<p>still text</p>\n",
    "unterminated-script": b"<script>var x = 1;\n// no end tag\n<p>text</p>\n",
    "short-comments": b"a<!-->b<!--->c<!---->d<!-- - -->e<!-- -- -->f",
    "script-end-forms": b"<script>1</script >a<SCRIPT>2</ScRiPt>b<style>3</style/>c<script>4</scripts></script>d",
    "inline-and-block": b"<span>a</span><div>b</div><b>c</b><p>d</p><abbr>e</abbr><br/>f<wbr>g<nobr>h</nobr>",
    "not-markup": b"a < b, c<1, d <= e, <> <3 <!x <? x ?> </ >\n",
    "crlf": b"<p>one</p>\r\n<!-- two\r\nlines -->\r\n<script>\r\n</script>three\r\n",
    "utf8-and-invalid": "<p>\u00e9t\u00e9 \u65e5\u672c \U0001F600</p>".encode() + b" \xff\xfe \xc3( \xe2\x82\n",
    "nul-bytes": b"<p>a\x00b</p><x\x00y>c&#0;\x00",
    "attribute-newlines": b"<a\nhref=\"x\ny\"\ntitle='1\n2'>link</a>\n<img src=a.png\nalt=b>\n",
    "empty": b"",
    "many-lt": b"<" * 200 + b">" + b"<a" * 100 + b"\n" + b"<!--" * 50,
}


def html_seeds():
    for name, data in HTML.items():
        write("fuzz_html", name, data)


JSONL_GOOD = (b'{"id":"doc1","title":"War and Peace","body":"It was a dark night."}\n'
              b'\n'
              b'  {"id": "doc2", "n": -1.5e+3, "ok": true, "no": false, "x": null, "a": [1, [2, {"b": "c"}]], '
              b'"o": {"k": "v"}, "text": "tab\\there\\nnew line \\"quoted\\" \\\\ \\/"}\r\n'
              b'{"title":"t1","title":"t2","id":"\\u0064oc3","\\u0074itle":"escaped name"}\n'
              b'{"id":"d4","s":"\\ud83d\\ude00 pair, lone \\ud800 and \\udc00, \\u00e9 \\u20AC"}\n'
              b'{"id":"d5","id":"d5b","body":"", "empty":{}, "arr":[]}\n'
              b'{"id":"\xc3\xa9t\xc3\xa9","body":"raw utf-8 \xe6\x97\xa5 and invalid \xff"}\n'
              b'\t \r\n'
              b'{"id":"last","n":0,"m":-0.0,"k":1E5,"j":12.34e-5} ')

JSONL_BAD = {
    "no-id": b'{"title":"x"}\n',
    "id-number": b'{"id":5,"title":"x"}\n',
    "id-after-number-id": b'{"id":"a","id":null}\n',
    "empty-object": b'{}\n',
    "not-object": b'["id","x"]\n',
    "unterminated-string": b'{"id":"abc\n',
    "unterminated-object": b'{"id":"abc"\n',
    "bad-escape": b'{"id":"a","b":"\\x41"}\n',
    "short-unicode-escape": b'{"id":"a","b":"\\u12"}\n',
    "control-char": b'{"id":"a","b":"tab\there"}\n',
    "trailing-text": b'{"id":"a"} x\n',
    "trailing-comma": b'{"id":"a",}\n',
    "trailing-comma-array": b'{"id":"a","b":[1,2,]}\n',
    "missing-colon": b'{"id" "a"}\n',
    "bare-word": b'{"id":"a","b":yes}\n',
    "number-minus": b'{"id":"a","n":-}\n',
    "two-objects": b'{"id":"a"}{"id":"b"}\n',
    "deep-65": b'{"id":"a","d":' + b'[' * 64 + b']' * 64 + b'}\n',
    "nul-byte": b'{"id":"a"}\x00\n',
    "literal-cut": b'{"id":"a","t":tru',
}


# bugs these seeds found, fixed: numbers were any run of digits, '.', 'e',
# '+' and '-'; an id "\u0000" reached the index with id_len past strlen(id)
JSONL_REGRESS = {
    "number-leading-zero": b'{"id":"a","n":01}\n',
    "number-dot": b'{"id":"a","n":1.}\n',
    "number-exponent": b'{"id":"a","n":1e}\n',
    "number-plus": b'{"id":"a","n":+1}\n',
    "number-junk": b'{"id":"a","n":1-2e+.}\n',
    "id-holds-nul": b'{"id":"a\\u0000b"}\n',
}


def jsonl_seeds():
    write("fuzz_jsonl", "good", JSONL_GOOD)
    write("fuzz_jsonl", "empty", b"")
    write("fuzz_jsonl", "blank-lines", b"\n \n\t\r\n")
    write("fuzz_jsonl", "deep-64", b'{"id":"a","d":' + b'[' * 63 + b']' * 63 + b'}\n')
    for name, line in JSONL_BAD.items():
        write("fuzz_jsonl", "bad-" + name, b'{"id":"before"}\n\n' + line + b'{"id":"after"}\n')
    for name, line in JSONL_REGRESS.items():
        write("fuzz_jsonl", "regress-" + name, b'{"id":"before"}\n\n' + line + b'{"id":"after"}\n')


def gzip_member(data, level=6, flags=0, mtime=0):
    """One gzip member, with optional FEXTRA (4), FNAME (8), FCOMMENT (16) and FHCRC (2)."""
    header = b"\x1f\x8b\x08" + bytes([flags]) + struct.pack("<I", mtime) + b"\x00\x03"
    if flags & 4:
        header += struct.pack("<H", 4) + b"ab\x00\x00"
    if flags & 8:
        header += b"name.txt\x00"
    if flags & 16:
        header += b"a comment\x00"
    if flags & 2:
        header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


GZ_TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(40))


def gz_seeds():
    ok = gzip_member(GZ_TEXT)
    write("fuzz_gz", "text", ok)
    write("fuzz_gz", "stored", gzip_member(GZ_TEXT, level=0))
    write("fuzz_gz", "header-fields", gzip_member(GZ_TEXT, flags=2 | 4 | 8 | 16))
    write("fuzz_gz", "empty-member", gzip_member(b""))
    write("fuzz_gz", "members", gzip_member(b"first member\n") + gzip_member(b"") + gzip_member(b"third\n", level=0))
    write("fuzz_gz", "trailing-garbage", ok + b"not a member")
    write("fuzz_gz", "trailing-magic", ok + b"\x1f\x8b")
    write("fuzz_gz", "truncated-data", ok[:len(ok) // 2])
    write("fuzz_gz", "truncated-trailer", ok[:-3])
    write("fuzz_gz", "truncated-header", ok[:6])
    write("fuzz_gz", "magic-only", b"\x1f\x8b")
    write("fuzz_gz", "bad-crc", ok[:-8] + bytes([ok[-8] ^ 1]) + ok[-7:])
    write("fuzz_gz", "bad-length", ok[:-4] + struct.pack("<I", len(GZ_TEXT) + 1))
    write("fuzz_gz", "bad-method", ok[:2] + b"\x07" + ok[3:])
    write("fuzz_gz", "bad-flags", ok[:3] + b"\xe0" + ok[4:])
    bad = bytearray(ok)
    bad[20] ^= 0x55
    write("fuzz_gz", "bad-deflate", bytes(bad))
    write("fuzz_gz", "second-member-corrupt", ok + gzip_member(b"x")[:12] + b"\xff" * 8)
    write("fuzz_gz", "not-gzip", b"plain text in a file named .gz\n")
    write("fuzz_gz", "not-gzip-past-tiny-limit", GZ_TEXT[:1500])
    write("fuzz_gz", "one-byte", b"\x1f")
    write("fuzz_gz", "empty", b"")
    # past one read (GUNZIP_CHUNK) and past fuzz_gz.c's limits, from a few KB
    write("fuzz_gz", "two-chunks", gzip_member(GZ_TEXT * 40, level=9))
    write("fuzz_gz", "bomb", gzip_member(b"\x00" * (4 << 20), level=9))
    write("fuzz_gz", "bomb-members", gzip_member(b"a" * (1 << 20), level=9) * 3)


def grep_line(no, col, text, spans=()):
    m = (field_varint(1, no) if no else b"") + (field_varint(2, col) if col else b"")
    m += field_bytes(3, text) if text else b""
    for a, b in spans:
        m += field_bytes(4, (field_varint(1, a) if a else b"") + (field_varint(2, b) if b else b""))
    return m


def grep_file(path, lines=(), count=0, record=False):
    m = field_bytes(1, path) + (field_varint(2, 1) if record else b"")
    for l in lines:
        m += field_bytes(3, l)
    return m + (field_varint(4, count) if count else b"")


def grep_response(body, rid=7):
    return field_varint(1, rid) + field_varint(2, 1) + field_bytes(16, body)


def grepframe_seeds():
    """fuzz_grepframe: byte 0 = 0 and a Response frame, or 1 and a
    GrepResponse the target frames itself."""
    x = grep_file(b"/t/src/x.c", [grep_line(3, 5, b"int define_it;", [(4, 10)]),
                                  grep_line(4, 0, b"context line"),
                                  grep_line(9, 1, b"defined defined", [(0, 7), (8, 15)])], 2)
    rec = grep_file(b"record-17", [grep_line(1, 2, b"\"define\"", [(1, 7)])], 1, record=True)
    done = field_varint(2, 1) + field_varint(3, 2) + field_varint(4, 3) + field_varint(5, 40) + \
        field_varint(6, 30) + field_varint(7, 1234) + field_bytes(8, b"/t/big.bin: line 3: match limit")
    files = field_bytes(1, x) + field_bytes(1, rec)
    w = lambda name, data: write("fuzz_grepframe", name, data)
    w("daemon-frame", b"\x00" + grep_response(files))
    w("daemon-last-frame", b"\x00" + grep_response(files + done))
    w("wrapped-files", b"\x01" + files)
    w("wrapped-done-only", b"\x01" + done)
    w("wrapped-empty", b"\x01")
    w("no-body", b"\x00" + field_varint(1, 7) + field_varint(2, 1))
    w("empty", b"\x00")
    err = field_bytes(15, field_varint(1, 4) + field_bytes(2, b"regex parse error") + field_varint(3, 2))
    w("error-answer", b"\x00" + field_varint(1, 7) + err)
    w("grep-then-error", b"\x00" + grep_response(files) + err)
    w("error-then-grep", b"\x00" + field_varint(1, 7) + err + field_bytes(16, files))
    w("two-bodies-last-wins", b"\x00" + grep_response(files) + field_bytes(16, field_bytes(1, rec) + done))
    bad_span = field_bytes(1, grep_file(b"/t/y", [grep_line(1, 1, b"ab", [(1, 3)])]))
    w("bad-spans-replaced", b"\x00" + grep_response(bad_span) + field_bytes(16, files))
    w("bad-spans-kept", b"\x00" + grep_response(files) + field_bytes(16, bad_span))
    w("span-inverted", b"\x01" + field_bytes(1, grep_file(b"/t/y", [grep_line(1, 1, b"abc", [(2, 1)])])))
    # fields in any order, repeated singular ones (the last wins), unknown ones of each wire type
    odd = field_varint(4, 9) + field_bytes(3, field_bytes(4, field_varint(2, 3)) + field_bytes(3, b"xxx")
                                         + field_varint(1, 2) + field_bytes(3, b"abcd") + field_varint(2, 1)) \
        + field_bytes(1, b"/first") + field_bytes(1, b"/second") + field_varint(2, 5)
    w("any-order-last-wins", b"\x01" + field_bytes(1, odd))
    unknown = field_varint(20, 300) + varint(21 << 3 | 1) + b"\x01" * 8 + field_bytes(22, b"??") + \
        varint(23 << 3 | 5) + b"\x02" * 4
    w("unknown-fields", b"\x00" + unknown + grep_response(field_bytes(1, grep_file(b"/u", [
        grep_line(1, 1, b"u", [(0, 1)]) + unknown]) + unknown) + unknown))
    for wt, val in ((1, b"\x00" * 7 + b"\x80"), (2, b"\x00"), (2, b"\x01\x00"), (5, b"\x00\x00\x00\x80"),
                    (0, b"\x80" * 9 + b"\x02")):
        w("done-wire-type-%d-%s" % (wt, val.hex()[:8]), b"\x01" + varint(2 << 3 | wt) + val)
    w("varint-10-bytes", b"\x00" + b"\x08" + b"\xff" * 9 + b"\x01" + field_bytes(16, files))
    w("varint-11-bytes", b"\x00" + b"\x08" + b"\xff" * 10 + b"\x01" + field_bytes(16, files))
    w("kind-past-32-bits", b"\x01" + field_bytes(1, field_bytes(1, b"/k") + b"\x10\x81\x80\x80\x80\x10"))
    w("tag-5-bytes", b"\x01" + b"\xc8\x80\x80\x80\x00" + b"\x05")
    w("tag-6-bytes", b"\x01" + b"\xc8\x80\x80\x80\x80\x00" + b"\x05")
    w("tag-field-0", b"\x01" + b"\x00\x00")
    w("tag-field-0-long", b"\x01" + b"\x80\x00\x00" + field_bytes(1, x))
    w("length-past-end", b"\x01" + field_bytes(1, x)[:-1])
    w("length-5-bytes-high", b"\x01" + b"\x0a\x80\x80\x80\x80\x10")
    for wt in (3, 4, 6, 7):
        w("wire-type-%d" % wt, b"\x01" + bytes([9 << 3 | wt]) + b"\x00")
    for name, msg in (("path-varint", field_bytes(1, field_varint(1, 3))),
                      ("line-varint", field_bytes(1, field_varint(3, 3))),
                      ("text-varint", field_bytes(1, field_bytes(3, field_varint(3, 1)))),
                      ("count-bytes", field_bytes(1, field_bytes(4, b"1"))),
                      ("files-varint", field_varint(1, 1)),
                      ("errors-varint", field_varint(8, 1)),
                      ("counts-fixed", varint(3 << 3 | 1) + b"\x00" * 8)):
        w("wrong-type-" + name, b"\x01" + msg)
    w("id-bytes", b"\x00" + field_bytes(1, b"7") + field_bytes(16, files))
    w("error-with-nul", b"\x01" + field_bytes(8, b"a\x00b") + field_varint(2, 1))


if __name__ == "__main__":
    main()
