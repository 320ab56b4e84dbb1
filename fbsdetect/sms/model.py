"""The SMS categoriser: character 1-3-gram TF-IDF (sublinear tf, l2 norm) and
a multinomial logistic regression (L2, fitted with scipy's L-BFGS), in
numpy/scipy only (no scikit-learn dependency). Texts are normalised first:
spaces removed (the dataset is word-segmented, captured SMS are not), ASCII
lower-cased, digit runs -> one '0'. The shipped model (`sms_model.npz`, made
by `python -m fbsdetect.sms.train`) holds the n-gram vocabulary, the idf and
the weights (float16).

Trained on the FBS Spam SMS Dataset (Zhang et al., ACM CCS 2020, doi
10.1145/3372297.3417257).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_PATH = Path(__file__).with_name("sms_model.npz")
NGRAMS = (1, 2, 3)
_DIGITS = re.compile(r"[0-9]+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    t = _SPACE.sub("", text)
    t = "".join(ch.lower() if ch.isascii() else ch for ch in t)
    return _DIGITS.sub("0", t)


def ngrams(text: str) -> list[str]:
    t = normalise(text)
    return [t[i:i + n] for n in NGRAMS for i in range(len(t) - n + 1)]


def _csr(rows: list[list[int]], n_features: int) -> Any:
    import scipy.sparse as sp

    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    for i, r in enumerate(rows):
        indptr[i + 1] = indptr[i] + len(r)
    idx = np.fromiter((j for r in rows for j in r), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(idx.size, dtype=np.float32)
    m = sp.csr_matrix((data, idx, indptr), shape=(len(rows), n_features), dtype=np.float32)
    m.sum_duplicates()
    return m


@dataclass
class SmsModel:
    vocab: dict[str, int]
    idf: npt.NDArray[np.float32]
    weights: npt.NDArray[np.float32]   # (n_features, n_classes)
    bias: npt.NDArray[np.float32]      # (n_classes,)
    classes: list[str]

    def features(self, texts: Iterable[str]) -> Any:
        v = self.vocab
        rows = [[v[g] for g in ngrams(t) if g in v] for t in texts]
        x = _csr(rows, len(v))
        return tfidf(x, self.idf)

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        x = self.features(texts)
        z = np.asarray(x @ self.weights.astype(np.float32)) + self.bias
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        p = self.scores(texts)
        k = p.argmax(axis=1)
        return [(self.classes[int(i)], round(float(p[j, i]), 4)) for j, i in enumerate(k)]

    def save(self, path: Path) -> None:
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        np.savez_compressed(path, vocab=np.array(words), idf=self.idf.astype(np.float16),
                            weights=self.weights.astype(np.float16), bias=self.bias.astype(np.float32),
                            classes=np.array(self.classes))

    @classmethod
    def load(cls, path: Path) -> SmsModel:
        with np.load(path, allow_pickle=False) as z:
            words = [str(w) for w in z["vocab"]]
            return cls({w: i for i, w in enumerate(words)}, z["idf"].astype(np.float32),
                       z["weights"].astype(np.float32), z["bias"].astype(np.float32),
                       [str(c) for c in z["classes"]])


def tfidf(counts: Any, idf: npt.NDArray[np.float32]) -> Any:
    """Sublinear tf (1 + log tf) x idf, rows l2-normalised (a CSR matrix)."""
    import scipy.sparse as sp

    x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x @ sp.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ x


@functools.lru_cache(maxsize=1)
def load_default() -> SmsModel:
    return SmsModel.load(MODEL_PATH)
