#!/usr/bin/python3
"""Throughput of deploy/swarm/stack.yml through its balancer, with 1 and with
3 mx replicas in the same run (`make bench-swarm`; bench/README.md).

The stack is the one tests/e2e/test_swarm.py deploys (the real stack.yml,
adapted in the same few places: no published host ports, the overlay
internal and attachable, clamd off): it reuses that module's deploy() and
remove(). Per replica count: a warm-up of --warmup messages, then --messages
messages of ~300 bytes over --sessions SMTP sessions to lb:25 from a client
container on the overlay (tests/e2e/swarmload.py, as fast as they are
accepted); the time runs from the first message to the last one read back
over IMAPS through lb (the message count of every mailbox polled twice a
second with IMAP STATUS; each Message-ID is checked once at the end). The swarm is
joined only when the engine is in none, and left at the end then; everything
is removed at the end, also on failure or Ctrl-C. JSON goes to
bench/results/swarm-<timestamp>.json.

On a 2-core machine three replicas share the same two cores with the
balancer, the store and the client: the ratio shows the overhead of more
replicas, not the gain that more machines would bring.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import test_swarm as sw  # noqa: E402  (after the path)
from dockerlib import docker, wait_for  # noqa: E402


def one_run(client, first, count, sessions, timeout):
    """Sends count messages as fast as they are accepted; returns (seconds
    to the last acknowledgement, seconds to the last delivery, acked)."""
    sw.SESSIONS = sessions
    before = client.mailboxes("count")
    start = time.monotonic()
    p, progress, t = client.send(first, count, 0, timeout)
    wait_for(lambda: progress.get("done") or p.poll() is not None, timeout=timeout + 60,
             interval=0.5, what="the load's end")
    result = sw.finish(p, progress, t, timeout=60)
    acked_s = time.monotonic() - start
    acked = set(result["acked_ids"])
    # Polled by count (IMAP STATUS, cheap), then checked by Message-ID once.
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if client.mailboxes("count") >= before + len(acked):
            break
        time.sleep(0.5)
    total_s = time.monotonic() - start
    missing = acked - set(sw.delivered(client))
    if missing:
        raise AssertionError("not delivered within %ss: %d" % (timeout, len(missing)))
    return acked_s, total_s, len(acked), result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    joined, reason = sw.join_swarm()
    if joined is None:
        sys.exit("bench-swarm: " + reason)
    made, rows, n = {}, {}, 0
    try:
        client = sw.deploy(made, mx_replicas=1)
        for rep in range(args.reps):
            for replicas in (1, 3):
                docker("service", "scale", "--detach", "%s_mx=%d" % (sw.STACK, replicas), timeout=120)
                wait_for(lambda: client.lb_up("mx_smtp") == replicas, timeout=300, interval=2,
                         what="%d mx UP in haproxy" % replicas)
                n += 10000
                one_run(client, n, args.warmup, args.sessions, args.timeout)
                n += 10000
                acked_s, total_s, acked, result = one_run(client, n, args.messages, args.sessions,
                                                          args.timeout)
                rate = acked / total_s
                rows.setdefault(replicas, []).append(
                    {"messages": acked, "seconds": total_s, "accept_seconds": acked_s,
                     "msgs_per_s": rate, "refusals": len(result["refusal_list"]),
                     "conn_errors": len(result["conn_error_list"])})
                print("rep %d, %d mx: %d messages in %.2f s (accepted in %.2f s): %.1f msgs/s"
                      % (rep + 1, replicas, acked, total_s, acked_s, rate), flush=True)
    finally:
        sw.remove(made)
        if joined:
            sw.leave_swarm()

    med = {r: statistics.median(x["msgs_per_s"] for x in v) for r, v in rows.items()}
    cores = os.cpu_count()
    print("\nSwarm stack through lb (%d messages, %d sessions, %d repetition(s), medians; %d cores)"
          % (args.messages, args.sessions, args.reps, cores))
    print("  mx replicas   msgs/s   per replica")
    for r in sorted(med):
        print("  %11d %8.1f %13.1f" % (r, med[r], med[r] / r))
    ratio = med[3] / med[1]
    print("  ratio 3/1: %.2f (on %d cores the replicas share the same CPUs: overhead, not gain)"
          % (ratio, cores))
    out = ROOT / "bench" / "results" / ("swarm-%s.json" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "cores": cores, "args": vars(args),
                               "runs": rows, "median_msgs_per_s": med, "ratio_3_1": ratio}, indent=2))
    print("  written to %s" % out.relative_to(ROOT))


if __name__ == "__main__":
    main()
