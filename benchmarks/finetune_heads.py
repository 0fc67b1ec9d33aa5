"""Experiment (#13): today's rater, and today's rater fed by a fine-tuned MiniLM, in the same folds.

Reads what ``finetune_minilm.py`` saved in ``--out`` and prints, for the same five folds of
practice vignettes (CV) and for the assessment split held out (totals only):

- ``today``: the rater of ``grader/rater.py`` unchanged (frozen int8 MiniLM + cues, two TF-IDF
  readers, equal thirds, direction first);
- ``(a) ft-embeddings``: the same three readers, but the meaning reader's embeddings come from
  the fine-tuned encoder (the fold's own model in CV), the encoder frozen at reading time;
- ``(d) ft-reader``: the fine-tuned model's own position probabilities replace the meaning
  reader's in the three-way average (the TF-IDF readers unchanged).

    PYTHONPATH=. nice -n 19 /work/venv-ft/bin/python benchmarks/finetune_heads.py \\
        --out /tmp/ft-out --tag full-lr5e-05-e4 --epoch 4

``--tag`` names the fine-tuning run (variant, learning rate, epochs) and ``--epoch`` the CV
epoch whose probabilities (d) uses; with ``--today-only`` only today's rater is run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from finetune_minilm import folds, scores, split  # noqa: E402

from grader.itembank import load_bank  # noqa: E402
from grader.rater import READER_WEIGHTS, EmbeddingCache, Rater, training_examples  # noqa: E402


class Vectors:
    """An embedding cache holding the fine-tuned encoder's vectors (nothing new is encoded)."""

    def __init__(self, texts, vectors):
        self._by_text = dict(zip(texts, vectors, strict=True))

    def get(self, texts):
        return np.vstack([self._by_text[t] for t in texts])

    def save(self):
        pass


def read(bank, train, test_texts, cache, swap=None):
    """Probabilities of today's three readers on ``test_texts`` (``swap``: the meaning
    reader's probabilities replaced by these)."""
    model = Rater(bank, train, cache=cache)
    readers = model.readers(cache.get(test_texts), test_texts)
    if swap is not None:
        readers["meaning"] = swap
    return sum(READER_WEIGHTS[name] * p for name, p in readers.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tag", help="the fine-tuning run, e.g. full-lr5e-05-e4")
    parser.add_argument("--epoch", type=int, help="the CV epoch whose probabilities (d) uses")
    parser.add_argument(
        "--heldout-tag",
        help="the held-out files' tag, when not --tag (e.g. TAG-onnx: read through ONNX Runtime)",
    )
    parser.add_argument("--today-only", action="store_true")
    parser.add_argument("--no-heldout", action="store_true")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    bank = load_bank()
    examples = training_examples(bank)
    texts = [e.text for e in examples]
    labels = np.array([e.position for e in examples])
    held = [r for i in bank.ids(split="assessment") for r in bank.item(i).responses]
    held_texts = [r.text for r in held]
    held_truth = np.array([r.spectrum_position for r in held])
    today_cache = EmbeddingCache()
    methods = ["today"] if args.today_only else ["today", "(a) ft-embeddings", "(d) ft-reader"]
    cv = {m: ([], []) for m in methods}
    for k, fold in enumerate(folds(examples)):
        train, test = split(examples, fold)
        train_ex, test_texts = [examples[i] for i in train], [texts[i] for i in test]
        results = {"today": read(bank, train_ex, test_texts, today_cache)}
        if not args.today_only:
            saved = np.load(args.out / f"cv-{args.tag}-fold{k}.npz")
            assert saved["test"].tolist() == test
            results["(a) ft-embeddings"] = read(
                bank, train_ex, test_texts, Vectors(texts, saved["vectors"])
            )
            results["(d) ft-reader"] = read(
                bank, train_ex, test_texts, today_cache, swap=saved[f"proba_e{args.epoch}"]
            )
        for m, proba in results.items():
            cv[m][0].append(labels[test])
            cv[m][1].append(proba)
        print(f"fold {k} done", file=sys.stderr, flush=True)
    today_cache.save()
    report = {}
    for m in methods:
        report[(m, "CV 5 folds")] = scores(np.concatenate(cv[m][0]), np.vstack(cv[m][1]))
    if not args.no_heldout:
        report[("today", "held out")] = scores(
            held_truth, read(bank, examples, held_texts, today_cache)
        )
        if not args.today_only:
            heldout_tag = args.heldout_tag or args.tag
            saved = np.load(args.out / f"heldout-{heldout_tag}-vectors.npz")
            cache = Vectors(texts + held_texts, np.vstack([saved["train"], saved["held"]]))
            report[("(a) ft-embeddings", "held out")] = scores(
                held_truth, read(bank, examples, held_texts, cache)
            )
            ft = np.load(args.out / f"heldout-{heldout_tag}-proba.npz")["proba"]
            report[("(d) ft-reader", "held out")] = scores(
                held_truth, read(bank, examples, held_texts, today_cache, swap=ft)
            )
    print(f"{'method':<22}{'split':<14}{'direction':>10}{'exact':>8}{'QWK':>7}")
    for (m, part), s in report.items():
        print(f"{m:<22}{part:<14}{s['direction']:>10.1%}{s['exact']:>8.1%}{s['qwk']:>7.2f}")
    name = f"heads-{args.heldout_tag or args.tag or 'today'}.json"
    (args.out / name).write_text(json.dumps({f"{m} | {p}": s for (m, p), s in report.items()}))


if __name__ == "__main__":
    main()
