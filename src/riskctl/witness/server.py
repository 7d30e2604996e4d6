"""``riskctl witness serve``: the witness over HTTP (stdlib threading server, loopback default).

Routes (C2SP tlog-witness, plus one read-only extension):

- ``POST /add-checkpoint``: body ``old N``, proof lines, a blank line, the signed checkpoint;
  answers 200 with the cosignature line, or 400/403/404/409/422 as the spec says.
- ``GET /checkpoint?origin=ORIGIN``: the last checkpoint cosigned for that log (extension).

Requests are bounded (64 KiB body, a socket timeout); nothing else is served.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from riskctl.witness.core import MAX_REQUEST, Reply, Witness

__all__ = ["make_server"]


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` answering for ``witness`` (call ``serve_forever``)."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a slow or stuck client cannot hold a thread forever
        server_version = "riskctl-witness"
        sys_version = ""

        def _send(self, reply: Reply) -> None:
            data = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/add-checkpoint":
                self._send(Reply(404, "not found\n"))
                return
            length_text = self.headers.get("Content-Length")
            if length_text is None or not length_text.isdigit():
                self._send(Reply(411, "Content-Length required\n"))
                return
            length = int(length_text)
            if length > MAX_REQUEST:
                self._send(Reply(413, "request too large\n"))
                return
            self._send(witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            origins = parse_qs(parts.query).get("origin", [])
            if parts.path != "/checkpoint" or len(origins) != 1:
                self._send(Reply(404, "not found\n"))
                return
            self._send(witness.latest(origins[0]))

        def log_message(self, format: str, *args: object) -> None:
            # One line per request on stderr, no bodies (they are public anyway, but short logs).
            sys.stderr.write(f"witness {self.address_string()} {format % args}\n")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
