"""Compares ferry's drift verdicts with the peer's (bench/drift_compute/run).

    compare.py OURS.tsv PEER.tsv FEATURES.tsv [SUFFIX]

OURS and PEER: name, method, statistic, drifted (1, 0, or - for no verdict), one
feature a line; FEATURES: name, kind, shift (what drift_compute_data built). Prints a
summary line, the largest differences of the statistics, and every feature on which the
two disagree (method or verdict), with its kind and shift. Line names end in SUFFIX.
"""

import sys


def read(path):
    rows = {}
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            rows[fields[0]] = fields[1:]
    return rows


def main():
    ours, peer, plan = (read(p) for p in sys.argv[1:4])
    suffix = sys.argv[4] if len(sys.argv) > 4 else ""
    names = sorted(plan)
    disagreements = []
    differences = []
    for name in names:
        (o_method, o_stat, o_drift), (p_method, p_stat, p_drift) = ours[name], peer[name]
        kind, shift = plan[name]
        if o_method != p_method or o_drift != p_drift:
            disagreements.append(f"{name} ({kind}, shift {shift}): ours={o_method} "
                                 f"{float(o_stat):.4f} drifted={o_drift} peer={p_method} "
                                 f"{float(p_stat):.4f} drifted={p_drift}")
        differences.append((abs(float(o_stat) - float(p_stat)), name, o_method, float(o_stat),
                            float(p_stat)))
    agree = len(names) - len(disagreements)
    drifted = lambda rows: sum(rows[n][2] == "1" for n in names)
    print(f"drift_compute_verdicts{suffix}: ours={drifted(ours)} drifted peer={drifted(peer)} drifted "
          f"agree={agree}/{len(names)} (method and verdict)")
    for method in sorted({d[2] for d in differences}):
        worst = max(d for d in differences if d[2] == method)
        print(f"drift_compute_statistic_{method}{suffix}: max |ours - peer| = {worst[0]:.4f} "
              f"({worst[1]}: ours={worst[3]:.4f} peer={worst[4]:.4f})")
    for line in disagreements:
        print(f"drift_compute_disagreement{suffix}: {line}")


if __name__ == "__main__":
    main()
