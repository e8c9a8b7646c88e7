"""The fleet suite's clock on `vmctl fleet watch` (tests/fleet/fleet.sh).

  watchlog.py stamp                       stdin lines -> "UNIX_TIME LINE" on stdout, as they come
  watchlog.py find LOG SINCE EXPR         the time of the first event at or after SINCE for which
                                          EXPR (Python, over the event `e`) is true; exit 1 if none
  watchlog.py freshness LOG CHANGES VM    the latency of each change "I START END" in CHANGES,
                                          where change I sets VM's forward `p` to host port
                                          20000+I: the first event of VM showing change I or a
                                          later one, minus END (the command's return); prints
                                          p50/p99/max, exits 1 if one never showed
"""

import bisect
import json
import sys
import time


def events(path):
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            ts, _, text = line.partition(" ")
            try:
                yield float(ts), json.loads(text)
            except ValueError:
                continue


def stamp():
    out = sys.stdout
    for raw in iter(sys.stdin.buffer.readline, b""):
        now = time.time()
        out.write(f"{now:.6f} {raw.decode('utf-8', 'replace').rstrip()}\n")
        out.flush()


def find(path, since, expr):
    test = compile(expr, "EXPR", "eval")
    for ts, e in events(path):
        try:
            hit = ts >= since and eval(test, {"e": e})
        except Exception:
            hit = False
        if hit:
            print(f"{ts:.6f}")
            return 0
    return 1


def change_index(e, vm):
    rec = e.get("record") or {}
    if e.get("kind") != "vm" or e.get("event") != "put" or rec.get("name", e.get("name")) != vm:
        return None
    for rule in rec.get("forwards") or []:
        if isinstance(rule, dict) and rule.get("name") == "p":
            return int(rule.get("host_port", 0)) - 20000
    return None


def freshness(path, changes_path, vm):
    times, reach = [], []
    for ts, e in events(path):
        i = change_index(e, vm)
        if i is None:
            continue
        times.append(ts)
        reach.append(max(i, reach[-1]) if reach else i)
    changes = []
    with open(changes_path, encoding="utf-8") as f:
        for line in f:
            i, start, end = line.split()
            changes.append((int(i), float(start), float(end)))
    latencies, lost = [], []
    for i, start, end in changes:
        # Both lists grow with time, so the first event after `start` that shows change i (or a
        # later one, when the agent folded several into one write) is the later of two bisects.
        at = max(bisect.bisect_left(reach, i), bisect.bisect_left(times, start))
        if at < len(times):
            latencies.append(max(0.0, times[at] - end))
        else:
            lost.append(i)
    if not latencies:
        print(f"{len(changes)} changes, none seen in the watch")
        return 1
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    span = changes[-1][2] - changes[0][1]
    print(
        f"{len(changes)} changes in {span:.1f} s, {len(latencies)} seen, {len(lost)} lost; "
        f"p50 {pct(50):.0f} ms, p99 {pct(99):.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    return 1 if lost else 0


def main(argv):
    if argv[1:] == ["stamp"]:
        stamp()
        return 0
    if len(argv) == 5 and argv[1] == "find":
        return find(argv[2], float(argv[3]), argv[4])
    if len(argv) == 5 and argv[1] == "freshness":
        return freshness(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
