"""SMS categories: macro-F1 and accuracy on the held-out 20 % of
../shared/data/fbs_sms/fbs_sms_train.jsonl (fbsdetect.sms.train.split: lines
shuffled with default_rng(20261201), first 80 % fitted, last 20 % scored),
the model (char 1-3-gram TF-IDF + logistic regression) side by side with the
plain keyword baseline (fbsdetect.sms.keywords). Also texts/s of the shipped
model.

Data: FBS Spam SMS Dataset, Zhang et al., "Lies in the Air: Characterizing
Fake-base-station Spam Ecosystem in China", ACM CCS 2020 (doi
10.1145/3372297.3417257).

    .venv/bin/python bench/bench_sms.py [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from fbsdetect.sms import keywords
from fbsdetect.sms.metrics import report
from fbsdetect.sms.model import load_default
from fbsdetect.sms.train import default_data, fit, load, split


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    texts, cats = load(default_data())
    tr, te = split(len(texts))
    t0 = time.perf_counter()
    m = fit([texts[i] for i in tr], [cats[i] for i in tr])
    fit_s = time.perf_counter() - t0
    test_t = [texts[i] for i in te]
    test_c = [cats[i] for i in te]
    model = report(test_c, [c for c, _ in m.predict(test_t)])
    base = report(test_c, [keywords.predict(t) for t in test_t])
    shipped = load_default()
    t0 = time.perf_counter()
    shipped.predict(test_t)
    rate = len(test_t) / (time.perf_counter() - t0)
    out = {"split": f"{len(tr)} train / {len(te)} held out (seed 20261201)", "fit_s": round(fit_s, 1),
           "model": model, "keyword_baseline": base, "texts_per_s": round(rate)}
    if a.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    print(f"held-out split: {out['split']}; model fitted in {fit_s:.0f} s; shipped model {rate:.0f} texts/s")
    print(f"{'category':26s} {'model F1':>9s} {'keywords F1':>12s}")
    for c in model["f1"]:  # type: ignore[union-attr]
        print(f"{c:26s} {model['f1'][c]:9.3f} {base['f1'].get(c, 0.0):12.3f}")  # type: ignore[index]
    print(f"{'accuracy':26s} {model['accuracy']:9.3f} {base['accuracy']:12.3f}")
    print(f"{'macro-F1':26s} {model['macro_f1']:9.3f} {base['macro_f1']:12.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
