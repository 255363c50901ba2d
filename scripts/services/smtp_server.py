"""A test mail server: aiosmtpd on SMTP_PORT, a MailHog-like JSON API on
API_PORT (GET /api/v2/messages, DELETE /api/v1/messages). Any recipient whose
local part starts with "reject" is refused with 550, so tests can exercise a
permanent SMTP rejection against the real server."""
import json
import os
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
API_PORT = int(os.environ.get("API_PORT", "8025"))
messages = []
lock = threading.Lock()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content)
        headers = {k: msg.get_all(k) for k in msg.keys()}
        body = msg.get_payload(decode=True) or b""
        with lock:
            messages.insert(0, {
                "ID": str(time.time_ns()),
                "From": envelope.mail_from,
                "To": envelope.rcpt_tos,
                "Content": {"Headers": headers, "Body": body.decode("utf-8", "replace")},
                "Raw": {"From": envelope.mail_from, "To": envelope.rcpt_tos,
                        "Data": envelope.content.decode("utf-8", "replace")},
            })
        return "250 Message accepted for delivery"


class API(BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith("/api/v2/messages"):
            self.send_error(404)
            return
        with lock:
            items = list(messages)
        b = json.dumps({"total": len(items), "count": len(items), "start": 0, "items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_DELETE(self):
        with lock:
            messages.clear()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    Controller(Handler(), hostname=HOST, port=SMTP_PORT).start()
    ThreadingHTTPServer((HOST, API_PORT), API).serve_forever()
