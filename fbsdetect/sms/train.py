"""Training of the shipped SMS model, reproducible:

    python -m fbsdetect.sms.train [--data FILE] [--out fbsdetect/sms/sms_model.npz] [--eval]

Data: ../shared/data/fbs_sms/fbs_sms_train.jsonl (FBS Spam SMS Dataset,
Zhang et al., ACM CCS 2020, doi 10.1145/3372297.3417257). Split: the lines
are shuffled with numpy's default_rng(SPLIT_SEED) and the first 80 % train,
the last 20 % are held out (`split`); `--eval` fits on the 80 % and reports
on the 20 % (bench/bench_sms.py does the same), otherwise the shipped model
is fitted on all lines. Features: n-grams seen in >= MIN_DF training texts,
at most MAX_FEATURES by document frequency; L2 strength C; L-BFGS.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from fbsdetect.sms.model import MODEL_PATH, SmsModel, _csr, ngrams, tfidf

SPLIT_SEED = 20261201
HOLDOUT = 0.2
MIN_DF = 2
MAX_FEATURES = 30000
L2 = 1e-4
MAX_ITER = 300


def default_data() -> Path:
    env = os.environ.get("FBSDETECT_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return base / "fbs_sms" / "fbs_sms_train.jsonl"


def load(path: Path) -> tuple[list[str], list[str]]:
    texts, cats = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            texts.append(d["text"])
            cats.append(d["category"])
    return texts, cats


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    k = round(n * (1 - HOLDOUT))
    return order[:k], order[k:]


def fit(texts: list[str], cats: list[str]) -> SmsModel:
    from scipy.optimize import minimize

    grams = [set(ngrams(t)) for t in texts]
    df = Counter(g for gs in grams for g in gs)
    keep = [g for g, c in df.most_common(MAX_FEATURES) if c >= MIN_DF]
    vocab = {g: i for i, g in enumerate(sorted(keep))}
    n = len(texts)
    idf = (np.log((1 + n) / (1 + np.array([df[g] for g in sorted(keep)], dtype=np.float64))) + 1).astype(
        np.float32)
    x = tfidf(_csr([[vocab[g] for g in ngrams(t) if g in vocab] for t in texts], len(vocab)), idf)
    classes = sorted(set(cats))
    y = np.array([classes.index(c) for c in cats])
    k, d = len(classes), len(vocab)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    xt = x.T.tocsr()

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        w = wb[:d * k].reshape(d, k)
        b = wb[d * k:]
        z = np.asarray(x @ w) + b
        z -= z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        p = np.exp(z - lse[:, None])
        ll = -(z[np.arange(n), y] - lse).sum() / n + 0.5 * L2 * float((w * w).sum())
        g = (p - onehot) / n
        gw = np.asarray(xt @ g) + L2 * w
        return float(ll), np.concatenate([gw.ravel(), g.sum(axis=0)])

    res = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                   options={"maxiter": MAX_ITER})
    w = res.x[:d * k].reshape(d, k).astype(np.float32)
    return SmsModel(vocab, idf, w, res.x[d * k:].astype(np.float32), classes)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", type=Path, default=MODEL_PATH)
    p.add_argument("--eval", action="store_true", help="fit on the 80 %% split, report on the 20 %%")
    a = p.parse_args(argv)
    texts, cats = load(a.data or default_data())
    if a.eval:
        from fbsdetect.sms.metrics import report

        tr, te = split(len(texts))
        m = fit([texts[i] for i in tr], [cats[i] for i in tr])
        pred = [c for c, _ in m.predict([texts[i] for i in te])]
        print(json.dumps(report([cats[i] for i in te], pred), indent=1))
        return 0
    m = fit(texts, cats)
    m.save(a.out)
    print(f"{a.out}: {len(m.vocab)} features, {len(m.classes)} classes, {a.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
