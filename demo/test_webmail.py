"""The demo as a person sees it: its webmail (Roundcube on 127.0.0.1:8008)
in headless Chromium driven by Selenium (Debian's chromium, chromium-driver,
python3-selenium). Steps:
   - a wrong password shows Roundcube's login error;
   - demo logs in, sees the welcome message, writes to alice;
   - alice logs in, sees it, opens it: its headers have the DKIM-Signature
     the server added and our Authentication-Results with dkim=pass, and the
     signature verifies here too (dkimpy against the demo's DNS server);
   - a message with the GTUBE line, sent from the webmail, never arrives;
   - every port of the demo is published on 127.0.0.1 only.
A screenshot of each step goes to the output folder (DEMO_SCREENSHOTS, by
default build/demo-screenshots/); a missing element fails the test with
the path of the screenshot taken at that moment. Alice's inbox is the
README's screenshot (UPDATE_SCREENSHOT=1 copies it to docs/webmail-inbox.png).
"""

import functools
import json
import os
import re
import shutil
import subprocess
import uuid

import dkim
import pytest
from dns import resolver as dnsresolver
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from demolib import GTUBE, ROOT, amavis_ls, imap_search, imap_subjects, wait_for

URL = "http://127.0.0.1:8008/"
OUT = os.environ.get("DEMO_SCREENSHOTS") or os.path.join(ROOT, "build", "demo-screenshots")
STEP_TIMEOUT = 30  # seconds for one page element: Roundcube answers in well under one
MAIL_TIMEOUT = 120  # seconds for a message to pass amavis and arrive
DEMO_DNS = "mta-demo-dns"


@pytest.fixture(scope="module")
def browser(demo):
    shutil.rmtree(OUT, ignore_errors=True)  # only this run's steps in it
    os.makedirs(OUT)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,800", "--lang=en-US", "--no-first-run"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(STEP_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


class Steps:
    """One test's steps: numbered screenshots, waits that name what is missing."""

    def __init__(self, driver, test):
        self.d, self.test, self.n = driver, test, 0

    def shot(self, name):
        self.n += 1
        path = os.path.join(OUT, "%s-%02d-%s.png" % (self.test, self.n, name))
        self.d.save_screenshot(path)
        return path

    def wait(self, what, condition, timeout=STEP_TIMEOUT):
        try:
            return WebDriverWait(self.d, timeout).until(condition)
        except TimeoutException:
            path = self.shot("missing-" + re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-"))
            pytest.fail("%s: not there within %d s (page %s); screenshot %s"
                        % (what, timeout, self.d.current_url, path))

    def element(self, what, css, timeout=STEP_TIMEOUT):
        return self.wait(what, EC.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout)

    def text_in(self, what, css, text, timeout=STEP_TIMEOUT):
        return self.wait(what, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout)

    def login(self, user, password):
        self.d.delete_all_cookies()
        self.d.get(URL)
        self.element("the login form's user field", "#rcmloginuser").send_keys(user)
        self.element("the login form's password field", "#rcmloginpwd").send_keys(password)
        self.shot("login-" + user)
        self.element("the login button", "#rcmloginsubmit").click()

    def inbox(self, user):
        self.login(user, user)
        self.element("the message list of %s" % user, "#messagelist tbody tr")

    def message_row(self, subject, timeout=STEP_TIMEOUT):
        """The row of subject in the message list, reloading until it is there."""
        xpath = "//table[@id='messagelist']//tr[.//span[@class='subject']//*[contains(., %s)]]" \
            % json.dumps(subject)

        def row(driver):
            found = driver.find_elements(By.XPATH, xpath)
            if found:
                return found[0]
            driver.execute_script("window.rcmail && rcmail.command('checkmail')")
            return False
        return self.wait("the message %r in the list" % subject, row, timeout)

    def compose(self, to, subject, body):
        self.element("the Compose button", "a.compose").click()
        to_field = self.element("the To field", "#compose_to input")
        to_field.send_keys(to + ",")
        self.element("the Subject field", "#compose-subject").send_keys(subject)
        body_field = self.element("the message body", "#composebody")
        body_field.send_keys(body)
        self.shot("compose")
        self.element("the Send button", "button.send").click()
        self.text_in("the 'sent' confirmation", "#messagestack", "sent successfully")
        self.shot("sent")
        # Roundcube goes back to the list by itself once the message is sent.
        self.element("the message list after sending", "#messagelist")

    def logout(self):
        self.d.get(URL + "?_task=logout&_token=" + self.d.execute_script("return rcmail.env.request_token"))
        self.element("the login form after logout", "#rcmloginuser")


@functools.lru_cache(maxsize=None)
def demo_dns_ip():
    return subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                           DEMO_DNS], capture_output=True, text=True, check=True).stdout.strip()


def dns_txt(name, timeout=5):
    """The demo DNS server's answer, as dkimpy asks for it."""
    r = dnsresolver.Resolver(configure=False)
    r.nameservers = [demo_dns_ip()]
    r.lifetime = timeout
    name = name.decode() if isinstance(name, bytes) else name
    try:
        return b"".join(b"".join(a.strings) for a in r.resolve(name, "TXT"))
    except (dnsresolver.NXDOMAIN, dnsresolver.NoAnswer):
        return None


def test_wrong_password_shows_the_login_error(browser):
    s = Steps(browser, "wrong-password")
    s.login("demo", "not-the-password")
    s.text_in("the login error", "#messagestack", "Login failed")
    s.shot("login-failed")
    assert browser.find_elements(By.CSS_SELECTOR, "#rcmloginuser"), "not on the login page any more"


def test_demo_writes_to_alice_who_reads_it_signed_and_verified(browser):
    s = Steps(browser, "demo-to-alice")
    s.inbox("demo")
    s.message_row("Welcome to the mta demo, demo")
    s.shot("inbox")
    # The newest row with this subject is this run's (the body says which).
    subject, token = "Lunch on Friday?", uuid.uuid4().hex[:8]
    s.compose("alice@example.com", subject, "Hi Alice,\n\nlunch on Friday at noon?\n\nDemo (%s)\n" % token)
    s.logout()

    wait_for("demo's message in alice's INBOX", lambda: imap_search("alice", token), MAIL_TIMEOUT)
    s.inbox("alice")
    row = s.message_row(subject)
    inbox = s.shot("alice-inbox")
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copyfile(inbox, os.path.join(ROOT, "docs", "webmail-inbox.png"))
    ActionChains(browser).double_click(row).perform()  # opens it in the full view
    s.text_in("the opened message's body", "#messagebody", token)
    s.element("the Headers link", "a.headers-all").click()
    s.wait("the headers dialog", EC.frame_to_be_available_and_switch_to_it((By.ID, "headersframe")))
    s.text_in("the message's headers", "body", "DKIM-Signature")
    text = browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()
    s.shot("headers")
    assert re.search(r"DKIM-Signature:.*\bd=example\.com\b", text, re.S), text
    assert re.search(r"Authentication-Results: mx1\.example\.com;\s*dkim=pass\s+header\.d=example\.com",
                     text), text

    # The signature itself, checked here with the record the demo publishes.
    uid = browser.execute_script("return rcmail.env.uid")
    raw = browser.execute_async_script(
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(arguments[1])",
        URL + "?_task=mail&_mbox=INBOX&_action=viewsource&_uid=%s" % uid)
    raw = raw.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    assert dkim.verify(raw, dnsfunc=dns_txt), "the DKIM signature does not verify:\n%s" % raw[:3000]
    s.logout()


def test_gtube_from_the_webmail_does_not_arrive(browser):
    s = Steps(browser, "gtube")
    s.inbox("demo")
    subject = "gtube %s" % uuid.uuid4().hex[:6]
    s.compose("alice@example.com", subject, GTUBE + "\n")
    marker = "after gtube %s" % uuid.uuid4().hex[:6]
    s.compose("alice@example.com", marker, "A clean message after the GTUBE one.\n")
    s.logout()
    wait_for("the GTUBE message in the quarantine (amavis-ls)", lambda: subject in amavis_ls(), MAIL_TIMEOUT)
    wait_for("the clean message sent after it", lambda: marker in imap_subjects("alice"), MAIL_TIMEOUT)
    s.inbox("alice")
    s.message_row(marker)
    s.shot("alice-inbox")
    assert subject not in browser.find_element(By.ID, "messagelist").text
    assert subject not in imap_subjects("alice")


def test_demo_ports_bind_to_loopback_only(demo):
    ids = subprocess.run(["docker", "ps", "-q", "--filter", "name=^mta-demo"], capture_output=True,
                         text=True, check=True).stdout.split()
    published = []
    for cid in ids:
        ports = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}", cid],
                                          capture_output=True, text=True, check=True).stdout)
        for port, binds in (ports or {}).items():
            for b in binds or []:
                published.append((cid, port, b["HostIp"], b["HostPort"]))
    assert {p[3] for p in published} >= {"25", "143", "587", "8008", "9154"}, published
    assert all(p[2] == "127.0.0.1" for p in published), published
