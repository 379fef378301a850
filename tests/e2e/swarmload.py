#!/usr/bin/python3
"""SMTP load for the swarm test and bench (runs inside a client container on
the stack's network; Python standard library only).

    swarmload.py send HOST PORT FIRST COUNT SESSIONS RATE DEADLINE RCPT...
        Sends messages FIRST..FIRST+COUNT-1 (Message-ID <swarm-N@client.test>,
        to RCPT[N % len]) over SESSIONS concurrent SMTP sessions, at most RATE
        messages per second (0: no limit), each session sending up to 20
        messages before it quits and connects again (so the balancer spreads
        new sessions over the replicas). A message that was not acknowledged
        with 250 is tried again later, as an MTA would: after a dropped
        connection, a timeout, or a 4xx reply. A 5xx reply is final.
        Stops early when a line "stop" (or EOF, with COUNT 0: unbounded)
        arrives on standard input, or at DEADLINE seconds. Prints a JSON line
        {"acked": n, ...} every second and a final {"done": true, ...}.
    swarmload.py imap HOST PORT USER:PASSWORD...
        Prints as JSON {user: [Message-ID, ...]} of every INBOX over IMAPS.
    swarmload.py count HOST PORT USER:PASSWORD...
        Prints the total number of messages in those INBOXes (IMAP STATUS:
        cheap enough to poll).
"""
import collections
import imaplib
import json
import smtplib
import socket
import ssl
import sys
import threading
import time

PER_SESSION = 20
SMTP_TIMEOUT = 30


def message(n, rcpt):
    return ("From: load@client.test\r\nTo: %s\r\nSubject: swarm %d\r\n"
            "Message-ID: <swarm-%d@client.test>\r\nDate: %s\r\n\r\n"
            "Message %d of the swarm load.\r\n" % (
                rcpt, n, n, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()), n)).encode()


class Load:
    def __init__(self, host, port, first, count, rate, deadline, rcpts):
        self.host, self.port, self.rcpts = host, port, rcpts
        self.next_n, self.last_n = first, (first + count - 1 if count else None)
        self.rate, self.deadline = rate, time.monotonic() + deadline
        self.lock = threading.Lock()
        self.retry = collections.deque()
        self.acked = []            # message numbers that got 250
        self.refusals = []         # [code, text, n]
        self.conn_errors = []      # [text, n or None]
        self.stopping = False
        self.in_flight = 0
        self.start = time.monotonic()
        self.issued = 0

    def take(self):
        """The next message number to send, or None when there is none left."""
        with self.lock:
            if self.retry:
                self.in_flight += 1
                return self.retry.popleft()
            if self.stopping or time.monotonic() > self.deadline:
                return None
            if self.last_n is not None and self.next_n > self.last_n:
                return None
            if self.rate:
                due = self.start + self.issued / self.rate
                wait = due - time.monotonic()
            else:
                wait = 0
            n = self.next_n
            self.next_n += 1
            self.issued += 1
            self.in_flight += 1
        if wait > 0:
            time.sleep(min(wait, 5))
        return n

    def done_with(self, n, ok, again=False):
        with self.lock:
            self.in_flight -= 1
            if ok:
                self.acked.append(n)
            elif again and time.monotonic() < self.deadline:
                self.retry.append(n)

    def pending(self):
        with self.lock:
            return bool(self.retry) or self.in_flight > 0

    def session(self):
        while True:
            n = self.take()
            if n is None:
                if not self.pending() or time.monotonic() > self.deadline:
                    return
                time.sleep(0.2)
                continue
            try:
                s = smtplib.SMTP(self.host, self.port, "client.test", timeout=SMTP_TIMEOUT)
                s.ehlo("client.test")
            except (OSError, smtplib.SMTPException) as e:
                self.conn_errors.append(["connect: %s" % e, n])
                self.done_with(n, False, again=True)
                time.sleep(0.5)
                continue
            sent = 0
            try:
                while n is not None:
                    rcpt = self.rcpts[n % len(self.rcpts)]
                    try:
                        s.sendmail("load@client.test", [rcpt], message(n, rcpt))
                        self.done_with(n, True)
                    except smtplib.SMTPResponseException as e:
                        self.refusals.append([e.smtp_code, str(e.smtp_error)[:200], n])
                        self.done_with(n, False, again=400 <= e.smtp_code < 500)
                        break
                    except smtplib.SMTPRecipientsRefused as e:
                        code, text = list(e.recipients.values())[0]
                        self.refusals.append([code, str(text)[:200], n])
                        self.done_with(n, False, again=400 <= code < 500)
                        break
                    sent += 1
                    if sent >= PER_SESSION:
                        break
                    n = self.take()
                n = None
                try:
                    s.quit()
                except (OSError, smtplib.SMTPException):
                    pass
            except (OSError, smtplib.SMTPException) as e:
                self.conn_errors.append(["session: %s" % e, n])
                if n is not None:
                    self.done_with(n, False, again=True)
                try:
                    s.close()
                except OSError:
                    pass
                time.sleep(0.5)

    def report(self, done=False):
        with self.lock:
            return {"done": done, "t": round(time.monotonic() - self.start, 2),
                    "acked": len(self.acked), "issued": self.issued,
                    "refusals": len(self.refusals), "conn_errors": len(self.conn_errors)}


def send(args):
    host, port, first, count, sessions, rate, deadline = args[:7]
    load = Load(host, int(port), int(first), int(count), float(rate), float(deadline), args[7:])

    def control():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        load.stopping = True
    threading.Thread(target=control, daemon=True).start()
    threads = [threading.Thread(target=load.session, daemon=True) for _ in range(int(sessions))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads) and time.monotonic() < load.deadline + SMTP_TIMEOUT + 5:
        print(json.dumps(load.report()), flush=True)
        time.sleep(1)
    out = load.report(done=True)
    out.update(acked_ids=load.acked, refusal_list=load.refusals[:200],
               conn_error_list=load.conn_errors[:200], unfinished=sorted(load.retry))
    print(json.dumps(out), flush=True)


def login(host, port, cred):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    user, password = cred.split(":", 1)
    m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=30)
    m.login(user, password)
    return user, m


def count(args):
    total = 0
    for cred in args[2:]:
        _, m = login(args[0], int(args[1]), cred)
        typ, data = m.status("INBOX", "(MESSAGES)")
        if typ != "OK":
            raise SystemExit("STATUS INBOX: %r" % data)
        total += int(data[0].decode().split("MESSAGES", 1)[1].strip(" )"))
        m.logout()
    print(total, flush=True)


def imap(args):
    host, port = args[0], int(args[1])
    out = {}
    for cred in args[2:]:
        user, m = login(host, port, cred)
        typ, data = m.select("INBOX", readonly=True)
        ids = []
        if typ == "OK" and int(data[0]) > 0:
            typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in data:
                if isinstance(item, tuple):
                    text = item[1].decode("ascii", "replace")
                    for line in text.splitlines():
                        if line.lower().startswith("message-id:"):
                            ids.append(line.split(":", 1)[1].strip())
        m.logout()
        out[user] = ids
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(SMTP_TIMEOUT)
    {"send": send, "imap": imap, "count": count}[sys.argv[1]](sys.argv[2:])
