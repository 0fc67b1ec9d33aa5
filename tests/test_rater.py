"""The formative rater's contract: what it returns, when it is unsure, what it refuses, and
that the model students get never learns an assessment key."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from grader import rater as rater_module
from grader.cli import main
from grader.editions import write_student_edition
from grader.encoder import MODEL_SHA256, TOKENIZER, TOKENIZER_SHA256, model_path
from grader.errors import DataValidationError
from grader.exemplars import load_exemplars
from grader.itembank import load_bank
from grader.rater import POSITIONS, Rater, RaterInputError, load_rater, training_examples
from tests.conftest import edit_csv

ATTUNED = (
    "Forty-one years of tea together, and your hands still reach for her cup. It sounds like every "
    "evening at six the loss finds you all over again, however busy you keep."
)


@pytest.fixture(scope="module")
def rater():
    return load_rater()


def test_a_reading_has_every_part_and_its_probabilities_sum_to_one(rater):
    reading = rater.rate("ep-001", ATTUNED)
    assert set(reading.probabilities) == set(POSITIONS)
    assert sum(reading.probabilities.values()) == pytest.approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in reading.probabilities.values())
    assert reading.best_guess == rater_module.decide(reading.probabilities)
    assert (
        1 <= reading.carkhuff_level <= 5
        and 1 <= reading.resonance <= 5
        and 1 <= reading.regulation <= 5
    )
    assert reading.position in (None, reading.best_guess)
    # evidence: the closest keyed responses of this vignette first, then of others, with rationales
    same = [e for e in reading.evidence if e.same_vignette]
    assert same and all(e.vignette_id == "ep-001" for e in same)
    assert any(not e.same_vignette for e in reading.evidence)
    assert all(e.rationale and e.position in POSITIONS for e in reading.evidence)


def test_levels_follow_the_keying_rubric_for_the_position(rater):
    for text in (
        ATTUNED,
        "Your daughter is right, you just need to keep busy in the evenings.",
        "Oh that's so sad, I'd be completely lost too honestly.",
    ):
        reading = rater.rate("ep-001", text)
        if reading.best_guess == 0:
            assert reading.carkhuff_level >= 3 and min(reading.resonance, reading.regulation) >= 3
        else:
            assert reading.carkhuff_level <= 2


def test_clear_cases_land_on_the_right_side(rater):
    assert rater.rate("ep-001", ATTUNED).best_guess == 0
    flat = rater.rate(
        "ep-004", "You're not a monster, every mother loves her baby, don't say that."
    )
    assert flat.best_guess > 0


@pytest.mark.parametrize(
    "text, reason",
    [
        ("ok sure", "too short"),
        ("Je comprends que les soirées soient difficiles pour vous depuis son départ.", "English"),
        ("Das klingt sehr schwer, und ich möchte gern verstehen, wie es Ihnen geht.", "English"),
    ],
)
def test_it_says_when_it_is_unsure_instead_of_placing(rater, text, reason):
    reading = rater.rate("ep-001", text)
    assert reading.unsure and reading.position is None
    assert any(reason in r for r in reading.unsure_reasons), reading.unsure_reasons


def test_text_far_from_anything_known_or_evenly_split_is_unsure(rater, monkeypatch):
    far = rater.rate(
        "ep-001", "The quarterly invoice totals must be reconciled with the warehouse ledger."
    )
    assert far.unsure
    monkeypatch.setattr(rater_module, "MIN_SIMILARITY", 1.01)
    assert any("far from every response" in r for r in rater.rate("ep-001", ATTUNED).unsure_reasons)
    monkeypatch.setattr(rater_module, "MIN_CONFIDENCE", 1.01)
    assert any("top probability" in r for r in rater.rate("ep-001", ATTUNED).unsure_reasons)


@pytest.mark.parametrize(
    "item_id, text, message",
    [
        ("ep-999", "It sounds like evenings are hard.", "No item 'ep-999'"),
        ("ep-001", "   \n ", "empty"),
        ("ep-001", "", "empty"),
        ("ep-001", "a" * 2001, "2,001 characters"),
    ],
)
def test_bad_input_is_refused_with_the_reason(rater, item_id, text, message):
    with pytest.raises(RaterInputError, match=message):
        rater.rate(item_id, text)


def test_readings_are_deterministic(rater):
    first = rater.rate(
        "rc-001", "It sounds like the breathing felt childish and didn't touch what keeps you up."
    )
    again = rater.rate(
        "rc-001", "It sounds like the breathing felt childish and didn't touch what keeps you up."
    )
    assert first == again
    retrained = Rater(rater.bank, training_examples(rater.bank))  # no cached weights
    assert retrained.fingerprint() == rater.fingerprint()


def test_the_student_model_never_learns_an_assessment_key(tmp_path):
    """Training from the student edition (no assessment keys) gives the very same model, and no
    training example belongs to an assessment item."""
    instructor = load_bank()
    student = load_bank(write_student_edition(tmp_path / "student", instructor))
    examples = training_examples(instructor)
    assessment = set(instructor.ids(split="assessment"))
    assert not any(e.vignette_id in assessment for e in examples)
    assert [e.ref_id for e in training_examples(student)] == [e.ref_id for e in examples]
    assert (
        Rater(student, training_examples(student)).fingerprint()
        == Rater(instructor, examples).fingerprint()
    )
    # and the rater works from the student edition, assessment items included
    reading = Rater(student, training_examples(student)).rate(assessment.pop(), ATTUNED)
    assert not any(e.vignette_id in assessment for e in reading.evidence)


def test_no_assessment_response_or_wording_is_in_the_training_set():
    """No training text is (even nearly) an assessment response, and the TF-IDF reader's
    vocabulary comes from the training texts alone."""
    bank = load_bank()
    examples = training_examples(bank)

    def normal(text):
        return " ".join(text.lower().split())

    assessment = {
        normal(r.text) for i in bank.ids(split="assessment") for r in bank.item(i).responses
    }
    assert assessment and not assessment & {normal(e.text) for e in examples}
    weights = Rater(bank, examples).weights
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(**rater_module.TFIDF_VIEWS["word"]).fit([e.text for e in examples])
    assert sorted(weights["tfidf_word_vocabulary"].tolist()) == sorted(words.vocabulary_)


def test_the_reading_averages_its_three_readers(rater):
    """Every reader counts: each gives its own probabilities (summing to 1, different from the
    others'), and the reading is their weighted average."""
    from grader.encoder import encoder

    text = "Have you thought about joining a choir? Keeping busy helps a lot of people."
    embedding = encoder().encode(text)[None, :]
    readers = rater.readers(embedding, [text])
    assert set(readers) == set(rater_module.READER_WEIGHTS) == {"meaning", "wording", "order"}
    for name, p in readers.items():
        assert p.shape == (1, len(POSITIONS)) and p.sum() == pytest.approx(1.0), name
        assert (p >= 0).all(), name
    assert not np.allclose(readers["meaning"], readers["wording"])
    assert not np.allclose(readers["wording"], readers["order"])
    expected = sum(rater_module.READER_WEIGHTS[n] * p for n, p in readers.items())
    assert np.allclose(rater.probabilities(embedding, [text]), expected)


def test_the_position_is_the_most_probable_direction_then_its_likelier_step():
    decide = rater_module.decide
    # the single likeliest position is the attuned one, but the confrontational pole outweighs it
    assert decide({-2: 0.05, -1: 0.05, 0: 0.34, 1: 0.26, 2: 0.30}) == 2
    assert decide({-2: 0.20, -1: 0.25, 0: 0.40, 1: 0.10, 2: 0.05}) == -1
    assert decide({-2: 0.10, -1: 0.10, 0: 0.60, 1: 0.10, 2: 0.10}) == 0
    # ties go to the attuned centre, then to the mild step
    assert decide({-2: 0.0, -1: 0.0, 0: 0.5, 1: 0.25, 2: 0.25}) == 0
    assert decide({-2: 0.0, -1: 0.0, 0: 0.2, 1: 0.4, 2: 0.4}) == 1


def test_each_reader_reads_as_its_reference_sklearn_fit_does(rater):
    """The shipped inference (stored numbers, no scikit-learn) gives what scikit-learn's fitted
    models give: the meaning and wording readers' class probabilities, and the order reader's
    P(beyond each step), then differences of those, never negative."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    texts = [e.text for e in rater.examples]
    positions = np.array([e.position for e in rater.examples])
    matrix = rater_module.TfidfViews.fit(texts).matrix
    x = np.vstack(
        [rater_module.features(v, t) for v, t in zip(rater._embeddings, texts, strict=True)]
    )
    sample = slice(None, None, 9)
    tfidf = rater._wording.matrix(texts[sample])
    readers = rater.readers(rater._embeddings[sample], texts[sample])
    with threadpool_limits(limits=1):  # as the rater fits
        meaning = LogisticRegression(C=rater_module.POSITION_C, max_iter=5000).fit(x, positions)
        wording = LogisticRegression(C=rater_module.TFIDF_C, max_iter=5000).fit(matrix, positions)
        beyond = [
            LogisticRegression(C=rater_module.TFIDF_C, max_iter=5000)
            .fit(matrix, (positions > step).astype(int))
            .predict_proba(tfidf)[:, 1]
            for step in POSITIONS[:-1]
        ]
    assert np.allclose(readers["meaning"], meaning.predict_proba(x[sample]), atol=1e-9)
    assert np.allclose(readers["wording"], wording.predict_proba(tfidf), atol=1e-9)
    assert np.allclose(readers["order"], rater_module._cumulative(np.array(beyond).T), atol=1e-9)
    crossing = rater_module._cumulative(np.array([[0.9, 0.4, 0.6, 0.1]]))
    assert (crossing >= 0).all() and crossing.sum() == pytest.approx(1.0)


def test_the_wording_reader_reads_as_sklearns_tfidf_does(rater):
    """The rater reads TF-IDF without importing scikit-learn; its rows equal sklearn's."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [e.text for e in rater.examples[::7]] + [
        "Ünïcode, tabs\tand\n\nnewlines;  double  spaces",
        "I",
        "a b c",
        "",
        "Don't — don't say that!!",
        "ok ok ok ok ok",
        "naïve café résumé",
    ]
    fitted = [
        TfidfVectorizer(**settings).fit([e.text for e in rater.examples])
        for settings in rater_module.TFIDF_VIEWS.values()
    ]
    expected = hstack([v.transform(texts) for v in fitted]).toarray()
    assert np.allclose(rater._wording.matrix(texts), expected, atol=1e-12)


def test_a_model_file_without_every_part_is_retrained(rater, tmp_path):
    stale = tmp_path / "model.npz"
    np.savez(stale, **{k: v for k, v in rater.weights.items() if not k.startswith("tfidf")})
    assert Rater(rater.bank, rater.examples, model_file=stale).fingerprint() == rater.fingerprint()
    assert rater_module._read_weights(stale) is not None  # rewritten whole


def test_a_rekeyed_practice_response_retrains_the_model(bank_copy):
    before = load_rater(load_bank(bank_copy)).fingerprint()
    original = load_bank(bank_copy).item("ep-001").responses[0]
    edit_csv(
        bank_copy / "responses.csv",
        1,
        "spectrum_position",
        str(2 if original.spectrum_position == 1 else 1),
    )
    assert load_rater(load_bank(bank_copy)).fingerprint() != before


def test_an_exemplar_for_an_assessment_item_is_refused(tmp_path):
    import shutil

    from grader.exemplars import exemplars_dir

    copy = tmp_path / "exemplars"
    shutil.copytree(exemplars_dir(), copy)
    bank = load_bank()
    assessment_item = bank.ids(split="assessment")[0]
    edit_csv(copy / "responses.csv", 1, "vignette_id", assessment_item)
    with pytest.raises(DataValidationError, match=f"row 1.*assessment item {assessment_item}"):
        load_exemplars(copy, bank)


def test_model_files_match_their_pinned_checksums_and_cover_the_training_texts():
    import hashlib

    assert hashlib.sha256(model_path().read_bytes()).hexdigest() == MODEL_SHA256
    assert hashlib.sha256(TOKENIZER.read_bytes()).hexdigest() == TOKENIZER_SHA256
    missing = rater_module.missing_from_shipped_cache()
    assert not missing, f"run `dialectic rater-embeddings`: no shipped embedding for {missing[:5]}"


def test_shipped_embeddings_equal_the_encoders_output():
    from grader.encoder import encoder

    example = training_examples()[0]
    shipped = rater_module._read_cache(rater_module.SHIPPED_CACHE)[
        rater_module.text_hash(example.text)
    ]
    assert np.allclose(shipped, encoder().encode(example.text), atol=1e-5)


# -- dialectic rate ----------------------------------------------------------------------------


def _write(path, rows, header=("id", "item_id", "text")):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_dialectic_rate_writes_every_row_and_names_the_bad_ones(tmp_path, capsys):
    inp, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(
        inp,
        [
            ("r1", "ep-001", ATTUNED),
            ("r2", "zz-001", "It sounds hard."),
            ("r3", "ep-002", "  "),
            ("r4", "ep-002", "x" * 2001),
            ("r5", "rc-001", "You have to keep doing the breathing."),
        ],
    )
    assert main(["rate", "--in", str(inp), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        "row 2" in err and "zz-001" in err and "row 3" in err and "empty" in err and "row 4" in err
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert list(rows[0]) == [
        "id",
        "item_id",
        "text",
        "position",
        "p_-2",
        "p_-1",
        "p_0",
        "p_+1",
        "p_+2",
        "carkhuff_level",
        "resonance",
        "regulation",
        "unsure",
        "error",
    ]
    assert rows[0]["position"] == "0" and not rows[0]["error"]
    assert sum(float(rows[0][f"p_{p}"]) for p in ("-2", "-1", "0", "+1", "+2")) == pytest.approx(
        1, abs=1e-3
    )
    assert rows[1]["error"] and not rows[1]["p_0"]
    assert rows[4]["p_0"] and not rows[4]["error"]


def test_dialectic_rate_refuses_a_csv_without_the_columns(tmp_path, capsys):
    inp = tmp_path / "in.csv"
    _write(inp, [("r1", "It sounds hard.")], header=("id", "answer"))
    assert main(["rate", "--in", str(inp), "--out", str(tmp_path / "out.csv")]) == 1
    assert "item_id, text" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_dialectic_rate_all_good_rows_exit_zero(tmp_path, capsys):
    inp, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(inp, [("a", "ep-001", ATTUNED)])
    out.write_text("an older reading\n", encoding="utf-8")
    out.chmod(0o600)
    assert main(["rate", "--in", str(inp), "--out", str(out)]) == 0
    assert "Rated 1 of 1" in capsys.readouterr().out
    # replaced in one step: the file's mode kept, no temporary file left beside it
    assert out.read_text(encoding="utf-8").startswith("id,") and out.stat().st_mode & 0o777 == 0o600
    assert sorted(f.name for f in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_dialectic_rate_interrupted_while_writing_leaves_the_old_file(tmp_path, monkeypatch):
    import csv

    inp, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(inp, [("a", "ep-001", ATTUNED)])
    out.write_text("an older reading\n", encoding="utf-8")

    def interrupted(self, rows):
        raise KeyboardInterrupt

    monkeypatch.setattr(csv.DictWriter, "writerows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["rate", "--in", str(inp), "--out", str(out)])
    assert out.read_text(encoding="utf-8") == "an older reading\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_the_benchmarks_folds_read_tfidf_as_a_fit_on_their_training_texts(rater, monkeypatch):
    """benchmarks/rater.py counts every text's n-grams once; a fold's TF-IDF taken from those
    counts equals sklearn's vectoriser fitted on the fold's training texts, so its
    cross-validation measures the rater as shipped."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from rater import Tokenised

    texts = [e.text for e in rater.examples]
    rows = np.arange(0, len(texts), 3)
    also = np.arange(1, len(texts), 3)
    views, other = Tokenised(texts).views(rows, also=also)
    fitted = rater_module.TfidfViews.fit([texts[i] for i in rows])
    for name in rater_module.TFIDF_VIEWS:
        assert views.vocabularies[name].tolist() == fitted.vocabularies[name].tolist()
        assert np.allclose(views.idfs[name], fitted.idfs[name])
    assert np.allclose(views.matrix.toarray(), fitted.matrix.toarray(), atol=1e-12)
    reading = Rater(rater.bank, [rater.examples[i] for i in rows], tfidf=fitted)._wording
    assert np.allclose(other.toarray(), reading.matrix([texts[i] for i in also]), atol=1e-12)


def test_the_view_says_why_a_position_is_not_the_tallest_bar(rater):
    """A pole's step can be given though another bar is taller (direction first): the reading
    says so in words; when the given position is the tallest bar, nothing is added."""
    from dataclasses import replace

    from grader.rater_view import reading_html

    reading = rater.rate("ep-001", ATTUNED)
    split = {-2: 0.05, -1: 0.05, 0: 0.34, 1: 0.26, 2: 0.30}
    pole = replace(reading, probabilities=split, position=2, best_guess=2, unsure_reasons=())
    assert (
        "Not the tallest bar: the two confrontational steps together (56%) are likelier than the "
        "attuned centre or the collusive side" in reading_html(pole)
    )
    collusive = replace(pole, probabilities={k: split[-k] for k in split}, position=-2)
    assert "the two collusive steps together (56%)" in reading_html(collusive)
    # the total is the sum of the two bars as shown, so a learner adding them up agrees
    rounded = replace(pole, probabilities={-2: 0.005, -1: 0.005, 0: 0.482, 1: 0.184, 2: 0.324})
    assert "the two confrontational steps together (50%)" in reading_html(rounded)  # not 51%
    clear = replace(reading, position=0, best_guess=0, unsure_reasons=())
    assert max(clear.probabilities, key=clear.probabilities.get) == 0
    assert "Not the tallest bar" not in reading_html(clear)
