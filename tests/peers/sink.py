#!/usr/bin/python3
"""Mail sink for the end-to-end tests: an SMTP or LMTP server (aiosmtpd)
that stores every message it accepts as one JSON file in /srv/sink/.

    sink.py --mode smtp|lmtp --port N [--auth USER:PASS] [--dir /srv/sink]

Each file holds: mail_from, rcpt_tos, data (str), peer, authenticated_user,
mode, received (epoch seconds). Files are named <time_ns>-<counter>.json and
written atomically (temp file + rename), so a reader never sees half a file.

With --auth, AUTH PLAIN/LOGIN is offered without TLS and MAIL FROM (and the
rest of the transaction) from a session that has not authenticated gets 530.
In LMTP mode the reply to DATA is one status line per accepted recipient.
"""
import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

COUNTER = itertools.count(1)


class SinkHandler:
    def __init__(self, directory, mode):
        self.directory = directory
        self.mode = mode

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="replace")
        user = None
        if getattr(session, "authenticated", False):
            auth = getattr(session, "auth_data", None)
            if isinstance(auth, LoginPassword):
                user = auth.login
            elif auth is not None:
                user = auth
            if isinstance(user, bytes):
                user = user.decode("utf-8", errors="replace")
        peer = session.peer
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": content,
            "peer": list(peer) if isinstance(peer, tuple) else peer,
            "authenticated_user": user,
            "mode": self.mode,
            "helo": session.host_name,
            "received": time.time(),
        }
        name = "%020d-%06d.json" % (time.time_ns(), next(COUNTER))
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        print("sink: stored %s from=<%s> to=%s user=%s"
              % (name, envelope.mail_from, ",".join(envelope.rcpt_tos), user),
              flush=True)
        if self.mode == "lmtp":
            # LMTP (RFC 2033): one reply per recipient, in RCPT order.
            return "\r\n".join("250 2.0.0 <%s> Ok" % r for r in envelope.rcpt_tos)
        return "250 2.0.0 Ok: stored " + name


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", errors="replace") \
            if isinstance(auth_data.login, bytes) else auth_data.login
        pw = auth_data.password.decode("utf-8", errors="replace") \
            if isinstance(auth_data.password, bytes) else auth_data.password
        ok = login == user and pw == password
        print("sink: AUTH %s user=%s %s" % (mechanism, login, "ok" if ok else "FAILED"),
              flush=True)
        if ok:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("smtp", "lmtp"), default="smtp")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--dir", default="/srv/sink")
    p.add_argument("--host", default="0.0.0.0")
    a = p.parse_args()

    if a.auth is not None and ":" not in a.auth:
        p.error("--auth wants USER:PASS")
    os.makedirs(a.dir, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    handler = SinkHandler(a.dir, a.mode)
    kwargs = {"hostname": socket.gethostname(), "ident": "mta-testpeer sink"}
    if a.auth is not None:
        user, password = a.auth.split(":", 1)
        kwargs.update(authenticator=make_authenticator(user, password),
                      auth_require_tls=False, auth_required=True)
    cls = LMTP if a.mode == "lmtp" else SMTP

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return cls(handler, loop=loop, **kwargs)

    server = loop.run_until_complete(
        loop.create_server(factory, host=a.host, port=a.port, reuse_address=True))
    print("sink: %s listening on %s:%d%s" % (a.mode, a.host, a.port,
          " (AUTH required)" if a.auth else ""), flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(True))
    loop.run_until_complete(stop)
    server.close()
    loop.run_until_complete(server.wait_closed())
    print("sink: stopped", flush=True)


if __name__ == "__main__":
    main()
