#!/usr/bin/python3
"""Metrics on against off (`make bench-metrics`, also part of `make bench`).

Two ${IMAGE}:STAGE servers in one run on the same machine, alike but for
METRICS_LISTEN=:9154: the same smtp-source load (bench/run.py's one_run:
N messages, 20 sessions, 4 KB, timed until all are in the maildir) in
alternating order, REPS times; the server with metrics is scraped once a
second throughout, as Prometheus would, and each scrape's latency recorded
(the figure under load). Prints the medians, the on/off ratio (target:
throughput within 3 %) and the scrape latencies (target: p99 under 100 ms);
writes JSON to bench/results/metrics-<timestamp>.json.

Uses bench/run.py's session, lab (internal network, stub DNS, the mini
image as load client) and cleanup. Python 3 standard library and docker only.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402  (bench/run.py)

PORT = 9154


class Scraper(threading.Thread):
    """GET /metrics every interval seconds until stopped; latencies in seconds."""

    def __init__(self, ip, interval=1.0):
        super().__init__(daemon=True)
        self.url = "http://%s:%d/metrics" % (ip, PORT)
        self.interval = interval
        self.latencies, self.errors = [], 0
        self.recording = False
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(self.interval):
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                if self.recording:
                    self.latencies.append(time.monotonic() - t0)
            except OSError:
                self.errors += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=os.environ.get("IMAGE") or "mta")
    ap.add_argument("--stage", default="mini", help="the stage both servers run (default mini)")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--base", default=os.environ.get("BASE") or "debian:bookworm-slim")
    a = ap.parse_args()
    bench.ensure_built(bench.DNS_IMAGE, os.path.join(HERE, "dns"), a.base)
    session = bench.Session()
    try:
        lab = bench.Lab(session, a.image)
        plain = bench.systems_for(a.image, a.image + ":rspamd")[a.stage]
        systems = {
            "off": bench.System("off", plain.image, dict(plain.env), plain.maildir, plain.health),
            "on": bench.System("on", plain.image, dict(plain.env, METRICS_LISTEN=":%d" % PORT),
                               plain.maildir, plain.health),
        }
        running = {}
        for key, sysm in systems.items():
            name = session.name("metrics-" + key)
            ip = lab.start(sysm, name)
            if bench.read_banner(ip, time.monotonic() + 180, name) is None:
                raise bench.BenchError("%s: no 220 banner within 180 s" % key)
            running[key] = (name, ip)
        scraper = Scraper(running["on"][1])
        scraper.start()
        res = {k: {"seconds": [], "msgs_per_s": []} for k in systems}
        for key, sysm in systems.items():  # warm-up, not counted
            bench.wait_quiet(lab, running[key][0])
            bench.one_run(lab, running[key][0], running[key][1], sysm, 200, 20, 4096, 320)
        scraper.recording = True
        for r in range(a.reps):
            for key in (("off", "on") if r % 2 == 0 else ("on", "off")):
                name, ip = running[key]
                secs = bench.one_run(lab, name, ip, systems[key], a.messages, 20, 4096, 120 + a.messages)
                res[key]["seconds"].append(secs)
                res[key]["msgs_per_s"].append(a.messages / secs)
                bench.log("  metrics %-3s rep %d: %d msgs in %.2f s = %.1f msgs/s"
                          % (key, r + 1, a.messages, secs, a.messages / secs))
        scraper.recording = False
        scraper.stop.set()
        scraper.join(10)
        lat = sorted(scraper.latencies)
        out = {
            "image": a.image, "stage": a.stage, "messages": a.messages, "reps": a.reps,
            "off_msgs_per_s": bench.median(res["off"]["msgs_per_s"]),
            "on_msgs_per_s": bench.median(res["on"]["msgs_per_s"]),
            "runs": res, "scrapes": len(lat), "scrape_errors": scraper.errors,
            "scrape_p50_ms": 1000 * bench.percentile(lat, 0.5) if lat else None,
            "scrape_p99_ms": 1000 * bench.percentile(lat, 0.99) if lat else None,
            "scrape_max_ms": 1000 * lat[-1] if lat else None,
        }
        out["on_off_ratio"] = out["on_msgs_per_s"] / out["off_msgs_per_s"]
        print("Metrics on vs off (%s, %d msgs x %d reps, medians)" % (a.stage, a.messages, a.reps))
        print("  off %.1f msgs/s, on %.1f msgs/s: on/off %.3f (target >= 0.97)"
              % (out["off_msgs_per_s"], out["on_msgs_per_s"], out["on_off_ratio"]))
        if lat:
            print("  scrape under load: %d scrapes, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d errors "
                  "(target p99 < 100 ms)" % (len(lat), out["scrape_p50_ms"], out["scrape_p99_ms"],
                                             out["scrape_max_ms"], scraper.errors))
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        path = os.path.join(HERE, "results", "metrics-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
        print("  written to %s" % path)
    finally:
        session.cleanup()


if __name__ == "__main__":
    main()
