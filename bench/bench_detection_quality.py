"""Detection quality on the public scenario suite (tests/corpus/scenes/, issue 10).

Runs every case (or those named) end to end through the command line exactly as
tests/e2e/test_scenarios.py does: a fresh SQLite database, `registry import`, `scan --source
sim:<case>/scene.toml --profile cn --summary-json`, `detections --json`; then prints per case the
fake cells found at severity >= medium (of those expected), the detections at >= medium that are
not a fake (false alarms), the number of detections, sweeps, wall time and the rules that carried
the severe detections; misses and false alarms with their rules and scores; and totals
(detection rate, false alarms per case, CPU per radio second of scan when the summary says).

    .venv/bin/python bench/bench_detection_quality.py [CASE ...] [--profile cn] [--keep DIR]
        [--json FILE] [--details] [--seeds K [--only-reseeded]]

`--details` also prints every detection of every case. `--keep DIR` keeps each case's database
and scan summary under DIR/<case>/. Exit 0 when every case passes, 1 otherwise, 2 when the
pipeline is not complete (a subcommand is not built yet). `--seeds K` also runs every case
with K other seeds (the same world with other shadowing, oscillator errors, frame numbers and
noise; rows `<case>+seedN`): how much a verdict depends on the draw.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import runner  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--profile", default="cn")
    ap.add_argument("--keep", metavar="DIR", help="keep each case's database and summary here")
    ap.add_argument("--json", metavar="FILE", help="write the per-case results as JSON")
    ap.add_argument("--details", action="store_true", help="print every detection")
    ap.add_argument("--seeds", type=int, default=0, metavar="K",
                    help="also run each case with K other seeds")
    ap.add_argument("--only-reseeded", action="store_true",
                    help="with --seeds: skip the cases' own seeds")
    args = ap.parse_args(argv)

    dirs = runner.case_dirs()
    if args.cases:
        known = {d.name: d for d in dirs}
        unknown = [c for c in args.cases if c not in known]
        if unknown:
            print(f"unknown case(s): {', '.join(unknown)} (have: {', '.join(known)})", file=sys.stderr)
            return 2
        dirs = [known[c] for c in args.cases]

    results: list[runner.CaseResult | tuple[str, str]] = []
    not_built = False
    with tempfile.TemporaryDirectory(prefix="bench-detq-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        runs = [] if args.only_reseeded and args.seeds else [(d, d.name) for d in dirs]
        for k in range(1, args.seeds + 1):
            runs += [(runner.copy_case_reseeded(d, base / "reseeded" / f"{d.name}+seed{k}", k),
                      f"{d.name}+seed{k}") for d in dirs]
        for d, name in runs:
            print(f"... {name}", file=sys.stderr, flush=True)
            try:
                res = runner.run_case(d, base / name, profile=args.profile, case_name=name)
            except runner.NotBuilt as exc:
                results.append((name, f"not run: {exc}"))
                not_built = True
                break  # the others would say the same
            except runner.StepFailed as exc:
                results.append((name, f"ERROR {exc}".replace("\n", " | ")[:300]))
                continue
            results.append(res)
            if args.details:
                for det in res.detections:
                    print(f"  {name}: {runner.describe_detection(det)}")
    print(runner.table(results))

    done = [r for r in results if isinstance(r, runner.CaseResult)]
    if done:
        n_fake = sum(len(r.expected["fake"]) for r in done)
        n_found = sum(len(r.found) for r in done)
        n_legit = sum(len(r.expected["legit"]) for r in done)
        n_fa = sum(len(r.false_alarms) for r in done)
        radio = sum(float((r.summary or {}).get("radio_s") or 0) for r in done)
        cpu = sum(float((r.summary or {}).get("cpu_s") or 0) for r in done)
        print(f"\ncases {len(done)}/{len(runs)}, passed {sum(r.passed for r in done)}; "
              f"fakes at >= medium {n_found}/{n_fake}"
              + (f" ({100 * n_found / n_fake:.0f} %)" if n_fake else "")
              + f"; false alarms at >= medium {n_fa} (real cells in the suite: {n_legit})"
              + (f"; scan CPU {cpu:.1f} s for {radio:.1f} radio s ({cpu / radio:.2f} s/s)"
                 if radio else ""))
    if args.json:
        out = []
        for r in results:
            if isinstance(r, tuple):
                out.append({"case": r[0], "error": r[1]})
            else:
                out.append({"case": r.case, "passed": r.passed, "found": r.found, "missed": r.missed,
                            "false_alarms": r.false_alarms, "detections": r.detections,
                            "summary": r.summary, "wall_s": r.wall_s()})
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    if not_built:
        return 2
    return 0 if all(isinstance(r, runner.CaseResult) and r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
