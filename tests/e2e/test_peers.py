"""The harness itself: the peer image's sink in SMTP, LMTP and AUTH modes,
reached from the host over the internal network. Needs no mta image."""
import smtplib

from dockerlib import make_message, rcpt_code, send_mail


def test_sink_smtp_stores_message(sink):
    s = sink(mode="smtp", port=25)
    r = send_mail(s.ip, 25, "alice@client.test", ["bob@dest.test", "carol@dest.test"],
                  subject="peer-smtp-1")
    assert r["delivered"], r
    msgs = s.wait_messages(1, timeout=20)
    assert len(msgs) == 1
    m = msgs[0]
    assert m["mail_from"] == "alice@client.test"
    assert m["rcpt_tos"] == ["bob@dest.test", "carol@dest.test"]
    assert "Subject: peer-smtp-1" in m["data"]
    assert m["authenticated_user"] is None
    assert m["peer"][0]  # the host's address on the network


def test_sink_lmtp_one_reply_per_recipient(sink):
    s = sink(mode="lmtp", port=24)
    c = smtplib.LMTP(s.ip, 24, timeout=30)
    try:
        code, _ = c.ehlo("client.test")   # smtplib.LMTP sends LHLO
        assert code == 250
        assert c.mail("alice@client.test")[0] == 250
        assert c.rcpt("x@dest.test")[0] == 250
        assert c.rcpt("y@dest.test")[0] == 250
        c.putcmd("data")
        assert c.getreply()[0] == 354
        c.send(make_message("alice@client.test", ["x@dest.test"], "peer-lmtp-1")
               + b"\r\n.\r\n")
        replies = [c.getreply() for _ in range(2)]
        assert [r[0] for r in replies] == [250, 250], replies
        assert b"x@dest.test" in replies[0][1] and b"y@dest.test" in replies[1][1]
        # HELO is not LMTP
        assert c.docmd("HELO client.test")[0] == 500
    finally:
        c.close()
    msgs = s.wait_messages(1, timeout=20)
    assert msgs[0]["rcpt_tos"] == ["x@dest.test", "y@dest.test"]
    assert msgs[0]["mode"] == "lmtp"


def test_sink_auth(sink):
    s = sink(mode="smtp", port=587, auth="relayuser:relaypass")
    # unauthenticated: MAIL FROM refused with 530
    c = smtplib.SMTP(s.ip, 587, timeout=30)
    try:
        c.ehlo("client.test")
        assert c.has_extn("auth")
        assert "PLAIN" in c.esmtp_features["auth"] and "LOGIN" in c.esmtp_features["auth"]
        code, _ = c.mail("alice@client.test")
        assert code == 530
        # wrong password
        try:
            c.login("relayuser", "wrong")
            raise AssertionError("wrong password accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
    finally:
        c.close()
    for mech in ("PLAIN", "LOGIN"):
        c = smtplib.SMTP(s.ip, 587, timeout=30)
        try:
            c.ehlo("client.test")
            c.user, c.password = "relayuser", "relaypass"
            auth = c.auth_plain if mech == "PLAIN" else c.auth_login
            code, _ = c.auth(mech, auth, initial_response_ok=(mech == "PLAIN"))
            assert code == 235
            c.sendmail("alice@client.test", ["bob@dest.test"],
                       make_message("alice@client.test", ["bob@dest.test"], "peer-auth-" + mech))
        finally:
            c.quit()
    msgs = s.wait_messages(2, timeout=20)
    assert len(msgs) == 2
    assert all(m["authenticated_user"] == "relayuser" for m in msgs)
    assert "peer-auth-PLAIN" in msgs[0]["data"] and "peer-auth-LOGIN" in msgs[1]["data"]


def test_sink_rcpt_code_helper(sink):
    s = sink(mode="smtp", port=25)
    code, text = rcpt_code(s.ip, "anyone@dest.test")
    assert code == 250, text
    assert s.messages() == []
