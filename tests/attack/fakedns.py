#!/usr/bin/env python3
"""The WAN's DNS server for the attack suite: answers every A query with 198.51.100.53 (and
any other type with no records), and writes each name it was asked to LOGFILE, so the suite
sees what the host's dnsmasq forwarded out.    fakedns.py LOGFILE"""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 53))
log = open(sys.argv[1], "a", buffering=1)
while True:
    query, peer = sock.recvfrom(512)
    i, labels = 12, []
    while i < len(query) and query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode(errors="replace"))
        i += 1 + query[i]
    question, qtype = query[12:i + 5], query[i + 1:i + 3]
    log.write(".".join(labels) + "\n")
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton("198.51.100.53")
    count = b"\x00\x01" if qtype == b"\x00\x01" else b"\x00\x00"
    reply = query[:2] + b"\x81\x80\x00\x01" + count + b"\x00\x00\x00\x00" + question
    sock.sendto(reply + (answer if count == b"\x00\x01" else b""), peer)
