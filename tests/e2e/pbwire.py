"""pbwire.py: the protobuf wire bits the e2e tests' hand-made frames need
(tests/e2e/e2e.sh: a fake old daemon, a 1 MiB query frame)."""


def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_varint(b, i):
    """The varint at b[i:], and the offset after it."""
    n = s = 0
    while True:
        n |= (b[i] & 0x7f) << s
        s += 7
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload
