#!/usr/bin/env python3
"""A capture in which exactly N internal hosts (10.0.0.0/8) open port-25 connections.

    bench/gen_hosts.py OUT N [CONNS_PER_HOST]

Each host opens CONNS_PER_HOST (default 3) connections to servers in 198.51.100.0/24:
SYN, SYN-ACK, then a reset from the server on every third.  bench_analyze.sh uses it to
show that the analyzer's memory follows the number of hosts, not the size of the input.
"""
import struct
import sys


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    eth = b"\x00\x00\x00\x00\x00\x01" + b"\x00\x00\x00\x00\x00\x02" + b"\x08\x00"
    ts = 1700000000 * 1000000
    recs = []

    def pkt(src, dst, sport, dport, flags, seq, ack):
        nonlocal ts
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0,
                         src.to_bytes(4, "big"), dst.to_bytes(4, "big"))
        frame = eth + ip + tcp
        ts += 7
        recs.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), len(frame)))
        recs.append(frame)

    for h in range(n):
        host = 0x0A000000 + 1 + h
        for c in range(per):
            srv = 0xC6336400 + (h * 7 + c) % 250
            sport = 1024 + (h * per + c) % 60000
            isn = (h * 2654435761 + c) & 0xFFFFFFFF
            pkt(host, srv, sport, 25, 0x02, isn, 0)
            if c % 3 == 2:
                pkt(srv, host, 25, sport, 0x14, 0, isn + 1)
            else:
                pkt(srv, host, 25, sport, 0x12, 12345, isn + 1)
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        f.write(b"".join(recs))


if __name__ == "__main__":
    main()
