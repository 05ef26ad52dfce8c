# Prints tables.txt from the reports: python3 tables.py final/* steps/*
import json, sys, os, glob, statistics as st
for d in sys.argv[1:]:
    print(f"## {d}")
    print(f"{'run':14s} {'received':>9s} {'lost':>5s} {'p50 ms':>8s} {'p99 ms':>9s} {'cpu ms/1k':>10s}")
    rows = {}
    for f in sorted(glob.glob(d + "/*.json")):
        name = os.path.basename(f)[:-5]
        r = json.load(open(f))
        m, s = r["messages"], r["server"]
        p50, p99, cpu = m["latency"]["p50_ms"], m["latency"]["p99_ms"], s["cpu_ms_per_1k_deliveries"]
        print(f"{name:14s} {m['received']:9d} {m['lost']:5d} {p50:8.3f} {p99:9.3f} {cpu:10.2f}")
        rows.setdefault(name.rsplit("-", 1)[0], []).append((p50, p99, cpu))
    for k, v in rows.items():
        print(f"median {k:9s} p50 {st.median(x[0] for x in v):8.3f}  p99 {st.median(x[1] for x in v):9.3f}  cpu/1k {st.median(x[2] for x in v):7.2f}  ({len(v)} runs)")
    print()
