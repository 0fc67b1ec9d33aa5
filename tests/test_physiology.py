"""Tests of grader.physiology: the synthetic synchrony dataset, its files and its measure."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from grader import paths, physiology
from grader.errors import DataValidationError
from tests.conftest import edit_csv

COMMITTED = paths.REPO_ROOT / "datasets" / "physiology"
REGENERATE = "regenerate them with `dialectic generate-physiology` and commit the result"


@pytest.fixture(scope="module")
def generated() -> physiology.PhysiologyData:
    return physiology.generate()


@pytest.fixture(scope="module")
def committed() -> physiology.PhysiologyData:
    return physiology.load(COMMITTED)


@pytest.fixture(scope="module")
def scl_by_phase(committed) -> pd.Series:
    """Mean windowed SCL synchrony (zero lag) by therapist style and phase."""
    table = physiology.synchrony_table(committed, "scl")
    return table.groupby(["therapist_style", "phase"], observed=True)["r"].mean()


@pytest.fixture(scope="module")
def scl_by_lag(committed) -> dict[float, pd.Series]:
    """Mean windowed SCL synchrony by therapist style, at three lags."""
    return {
        lag: physiology.synchrony_table(committed, "scl", lag_s=lag)
        .groupby("therapist_style", observed=True)["r"]
        .mean()
        for lag in (-3, 0, 10)
    }


def _assert_same_data(a: physiology.PhysiologyData, b: physiology.PhysiologyData) -> None:
    for name in physiology.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


# --- the generator ----------------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed_and_differs_for_another(generated):
    """The same seed gives identical frames; another seed gives other signals and seeds."""
    _assert_same_data(physiology.generate(physiology.DEFAULT_SEED), generated)
    other = physiology.generate(physiology.DEFAULT_SEED + 1)
    assert not np.array_equal(
        other.samples["patient_scl"].to_numpy(float),
        generated.samples["patient_scl"].to_numpy(float),
    )
    assert set(other.dyads["seed"]).isdisjoint(set(generated.dyads["seed"]))
    assert other.dyads["therapist_style"].tolist() == generated.dyads["therapist_style"].tolist()


def test_dataset_has_the_designed_shape(generated):
    """12+ dyads, 2+ for 3+ styles, 1-3 episodes each, 50 minutes at 4 Hz, realistic ranges."""
    dyads, episodes, samples = generated.dyads, generated.episodes, generated.samples
    assert len(dyads) >= 12
    per_style = dyads["therapist_style"].value_counts()
    assert (per_style >= 2).sum() >= 3
    assert episodes.groupby("dyad_id").size().between(1, 3).all()
    assert set(episodes["rupture_type"]) == {"withdrawal", "confrontation"}
    ruptures = episodes[episodes["kind"] == "rupture"]
    assert ruptures["repaired"].any() and not ruptures["repaired"].all()
    assert (samples.groupby("dyad_id").size() == 3000 * 4).all()
    assert samples[["therapist_scl", "patient_scl"]].stack().between(1, 20).all()
    assert samples[["therapist_hr", "patient_hr"]].stack().between(45, 150).all()


def test_confrontation_raises_patient_arousal_and_withdrawal_flattens_skin_conductance(generated):
    """Confrontation: SCL and HR up. Withdrawal: HR up, SCL down and its responses smaller."""
    hr_changes: dict[str, list[float]] = {"confrontation": [], "withdrawal": []}
    for e in generated.episodes[generated.episodes["kind"] == "rupture"].itertuples():
        s = generated.samples_of(e.dyad_id)
        before = s[(s["t_s"] >= e.start_s - 240) & (s["t_s"] < e.start_s)]
        during = s[(s["t_s"] >= e.start_s + 60) & (s["t_s"] < e.end_s)]
        scl_change = during["patient_scl"].mean() - before["patient_scl"].mean()
        hr_changes[e.rupture_type].append(during["patient_hr"].mean() - before["patient_hr"].mean())
        responses = during["patient_scl"].diff().std() / before["patient_scl"].diff().std()
        if e.rupture_type == "confrontation":
            assert scl_change > 1 and responses > 1.2, e.episode_id
        else:
            assert scl_change < 0 and responses < 0.8, e.episode_id
    # Heart rate drifts on its own, so one episode may barely show the rise; the mean must.
    for rupture_type, changes in hr_changes.items():
        assert min(changes) > 0 and np.mean(changes) > 4, rupture_type


# --- the committed files ----------------------------------------------------------------


def test_committed_files_equal_the_generators_output(generated, tmp_path):
    """Byte for byte for the CSV files, text for text inside the gzip."""
    physiology.write(generated, tmp_path)
    for name in (physiology.DYADS_FILE, physiology.EPISODES_FILE):
        assert (COMMITTED / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"{name} differs from the generator's output; {REGENERATE}"
        )
    fresh = gzip.decompress((tmp_path / physiology.SAMPLES_FILE).read_bytes())
    stored = gzip.decompress((COMMITTED / physiology.SAMPLES_FILE).read_bytes())
    assert stored == fresh, (
        f"{physiology.SAMPLES_FILE} differs from the generator's output; {REGENERATE}"
    )


def test_written_files_are_byte_reproducible_and_plain(generated, tmp_path):
    """A zero gzip time stamp, \\n line endings, no index and fixed decimals."""
    physiology.write(generated, tmp_path / "a")
    physiology.write(generated, tmp_path / "b")
    for name in physiology.TABLES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    text = gzip.decompress((tmp_path / "a" / physiology.SAMPLES_FILE).read_bytes()).decode()
    assert "\r" not in text
    lines = text.split("\n", 3)
    assert lines[0] == "dyad_id,t_s,therapist_scl,patient_scl,therapist_hr,patient_hr"
    dyad, t, tscl, pscl, thr, phr = lines[2].split(",")
    assert (dyad, t) == ("d01", "0.25")
    assert [len(v.split(".")[1]) for v in (tscl, pscl, thr, phr)] == [3, 3, 1, 1]
    assert (COMMITTED / physiology.SAMPLES_FILE).stat().st_size < 4_000_000


def test_load_validates_the_committed_data_and_returns_the_generators_frames(
    generated, committed, monkeypatch
):
    """load() accepts the committed files and gives exactly what generate() returns."""
    _assert_same_data(committed, generated)
    monkeypatch.delenv(paths.DATASETS_ENV, raising=False)
    _assert_same_data(physiology.load(), generated)
    assert committed.samples["patient_scl"].dtype == "Float64"
    assert list(committed.dyads["therapist_style"].cat.categories) == list(physiology.STYLES)


# --- validation of damaged copies -------------------------------------------------------


@pytest.fixture()
def scratch_copy(tmp_path):
    """A copy of the committed dataset, with its dictionaries, to damage."""
    target = tmp_path / "physiology"
    shutil.copytree(COMMITTED, target)
    return target


def _edit_samples(folder, edit) -> None:
    path = folder / physiology.SAMPLES_FILE
    lines = gzip.decompress(path.read_bytes()).decode().split("\n")
    edit(lines)
    path.write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))


def _set_sample(lines, row: int, column: str, value: str) -> None:
    """Set one cell; row 1 is the first data row, as in the validator's messages."""
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)


def _problem(folder) -> str:
    with pytest.raises(DataValidationError) as caught:
        physiology.load(folder)
    return str(caught.value)


def test_a_non_number_in_samples_names_the_file_row_and_column(scratch_copy):
    """'abc' as a patient heart rate fails with samples.csv.gz, its row and 'patient_hr'."""
    _edit_samples(scratch_copy, lambda lines: _set_sample(lines, 5000, "patient_hr", "abc"))
    message = _problem(scratch_copy)
    assert "samples.csv.gz, row 5000, column 'patient_hr'" in message
    assert "'abc' is not a number" in message


def test_an_episode_ending_after_the_session_names_the_file_row_and_column(scratch_copy):
    """An end_s of 3200 fails with episodes.csv, its row and 'end_s'."""
    edit_csv(scratch_copy / physiology.EPISODES_FILE, 3, "end_s", "3200")
    message = _problem(scratch_copy)
    assert "episodes.csv, row 3, column 'end_s'" in message
    assert "above the maximum 3000" in message


@pytest.mark.parametrize(
    ("row", "column", "value", "where", "what"),
    [
        # Rows 1 and 2 are d01's confrontation rupture and its prompt repair.
        pytest.param(
            1, "dyad_id", "d99", "row 1, column 'dyad_id'", "not in dyads.csv", id="unknown_dyad"
        ),
        pytest.param(
            2,
            "start_s",
            "1",
            "row 2, column 'start_s'",
            "before the rupture it repairs",
            id="repair_before_its_rupture_ends",
        ),
        pytest.param(
            2,
            "repairs",
            "d02-e1",
            "row 2, column 'repairs'",
            "must name a rupture of dyad d01",
            id="repair_of_another_dyads_rupture",
        ),
        pytest.param(
            1,
            "repaired",
            "false",
            "row 1, column 'repaired'",
            "a repair row names it",
            id="repaired_flag_contradicted",
        ),
        pytest.param(
            1,
            "start_s",
            "2999",
            "row 1, column 'end_s'",
            "not after its start",
            id="episode_ending_before_it_starts",
        ),
    ],
)
def test_episodes_that_contradict_each_other_name_the_file_row_and_column(
    scratch_copy, row, column, value, where, what
):
    """Cross-table rules: dyad exists, repairs follow their own dyad's rupture, flags agree."""
    edit_csv(scratch_copy / physiology.EPISODES_FILE, row, column, value)
    message = _problem(scratch_copy)
    assert f"episodes.csv, {where}" in message
    assert what in message


def test_samples_out_of_order_or_missing_name_the_file_row_and_column(scratch_copy):
    """Two swapped time stamps and a dropped row are both reported where they are."""

    def edit(lines):
        a, b = lines[101].split(","), lines[102].split(",")
        a[1], b[1] = b[1], a[1]
        lines[101], lines[102] = ",".join(a), ",".join(b)
        del lines[20000]

    _edit_samples(scratch_copy, edit)
    message = _problem(scratch_copy)
    assert "samples.csv.gz, row 102, column 't_s'" in message
    assert "does not come after" in message
    assert "samples.csv.gz, row 12001, column 'dyad_id': dyad d02 has 11999 samples" in message


# --- synchrony --------------------------------------------------------------------------


def test_windowed_synchrony_on_signals_with_known_correlation():
    """Identical, mirrored, shifted and flat signals give 1, -1, 1 at the right lag, NaN."""
    t = np.arange(2400) / 4
    wave = np.sin(t / 3) + np.sin(t / 7.3)
    frame = pd.DataFrame(
        {
            "t_s": t,
            "therapist_scl": wave,
            "patient_scl": wave,
            "therapist_hr": -wave,
            "patient_hr": wave,
        }
    )
    same = physiology.windowed_synchrony(frame, "scl")
    assert list(same.columns) == ["t_s", "r"]
    assert len(same) == (2400 - 120) // 20 + 1
    assert same["t_s"].iloc[0] == pytest.approx(14.875)
    assert np.allclose(same["r"], 1)
    assert np.allclose(physiology.windowed_synchrony(frame, "hr")["r"], -1)

    follows = frame.assign(therapist_scl=np.roll(wave, 40))  # the therapist 10 s behind
    assert np.allclose(physiology.windowed_synchrony(follows, "scl", lag_s=10)["r"], 1)
    assert physiology.windowed_synchrony(follows, "scl")["r"].mean() < 0.9

    flat = frame.assign(therapist_scl=1.0)
    assert physiology.windowed_synchrony(flat, "scl")["r"].isna().all()


def test_windowed_synchrony_refuses_what_it_cannot_measure(committed):
    """Two dyads at once, an unknown signal, and a misspelt dyad id fail clearly."""
    with pytest.raises(ValueError, match="one dyad"):
        physiology.windowed_synchrony(committed.samples)
    with pytest.raises(ValueError, match="scl, hr"):
        physiology.windowed_synchrony(committed.samples_of("d01"), signal="eda")
    with pytest.raises(KeyError, match="d01"):
        committed.samples_of("d1")


def test_flexible_therapists_enter_synchrony_in_rupture_and_detached_ones_do_not(scl_by_phase):
    """In ruptures flexible dyads are far more synchronised than detached ones, and than usual."""
    m = scl_by_phase
    assert m["flexible", "rupture"] - m["detached", "rupture"] >= 0.3
    assert m["flexible", "rupture"] - m["flexible", "outside"] >= 0.1
    assert (m["detached"] < 0.15).all()


def test_flexible_therapists_leave_synchrony_in_repair_and_entrained_ones_stay(scl_by_phase):
    """Once repair begins flexible synchrony falls; entrained synchrony stays high."""
    m = scl_by_phase
    assert m["flexible", "rupture"] - m["flexible", "repair"] >= 0.2
    assert m["entrained", "rupture"] - m["entrained", "repair"] <= 0.2
    assert m["entrained", "repair"] - m["flexible", "repair"] >= 0.3


def test_lags_reveal_lagging_and_leading_therapists(scl_by_lag):
    """Lagging dyads synchronise at +10 s, not at 0; leading dyads peak at -3 s."""
    assert scl_by_lag[10]["lagging"] - scl_by_lag[0]["lagging"] >= 0.25
    assert scl_by_lag[-3]["leading"] - scl_by_lag[0]["leading"] >= 0.15
    for style in ("flexible", "entrained"):
        assert scl_by_lag[0][style] > scl_by_lag[10][style]
