#!/usr/bin/env python3
"""A minimal SMTP receiver for the portal's browser test: answers one dialogue
per connection (EHLO, MAIL, RCPT, DATA, QUIT) and appends each message's
connecting address and body to the log file.  smtp-sink.py ADDRESS PORT LOG"""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"220 out.example ESMTP sink\r\n")
        data = None
        for raw in self.rfile:
            line = raw.decode("latin-1").rstrip("\r\n")
            if data is not None:
                if line == ".":
                    with open(sys.argv[3], "a") as f:
                        f.write("from %s\n%s\n.\n" % (self.client_address[0], "\n".join(data)))
                    data = None
                    w(b"250 2.0.0 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                w(b"250 out.example\r\n")
            elif verb == "DATA":
                data = []
                w(b"354 go ahead\r\n")
            elif verb == "QUIT":
                w(b"221 bye\r\n")
                return
            else:
                w(b"250 ok\r\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
