"""Accuracy and macro-F1 (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence


def report(truth: Sequence[str], pred: Sequence[str]) -> dict[str, object]:
    classes = sorted(set(truth) | set(pred))
    f1s = {}
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[c] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    present = sorted(set(truth))
    acc = sum(1 for t, p in zip(truth, pred, strict=True) if t == p) / max(1, len(truth))
    return {"n": len(truth), "accuracy": round(acc, 4),
            "macro_f1": round(sum(f1s[c] for c in present) / max(1, len(present)), 4),
            "f1": {c: round(f1s[c], 3) for c in present}}
