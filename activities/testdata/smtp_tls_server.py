"""A private aiosmtpd for the STARTTLS/AUTH test: it requires STARTTLS
and AUTH (user "mailer", password given in SMTP_PASSWORD) and writes each
accepted message, with the login that sent it, to OUT_DIR; recipients
named busy*@… get a 451. MODE is
starttls, or tls for implicit TLS (the whole session encrypted). Usage:
smtp_tls_server.py PORT CERT KEY OUT_DIR MODE"""
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, cert, key, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
password = os.environ["SMTP_PASSWORD"].encode()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == password
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # busy*@… are greylisted: a temporary refusal, worth retrying.
        if address.split("@")[0].lower().startswith("busy"):
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.decode()
        with open(os.path.join(out, "%d.eml" % time.time_ns()), "wb") as f:
            f.write(b"X-Test-Login: " + login.encode() + b"\r\n" + envelope.content)
        return "250 OK"


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
if mode == "tls":
    # aiosmtpd does not count implicit TLS as encryption for AUTH; the
    # session is TLS from its first byte all the same.
    c = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=ctx,
                   authenticator=authenticator, auth_required=True, auth_require_tls=False)
else:
    c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
                   require_starttls=True, authenticator=authenticator, auth_required=True)
c.start()
print("ready", flush=True)
sys.stdin.read()  # run until the test closes our stdin
c.stop()
