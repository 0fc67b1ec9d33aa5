"""The synthetic physiological-synchrony dataset: generation, files, validation, synchrony.

Twelve fictional therapist-patient dyads, each a 50-minute session sampled at 4 Hz (skin
conductance level and heart rate of both partners), with labelled rupture and repair
episodes. The dyads differ in how the therapist enters and leaves synchrony with the
patient's arousal (``therapist_style``). The data are simulated, not recorded; the model is
described in ``datasets/physiology/README.md`` and in :data:`STYLE_MODELS` and
:data:`RUPTURE_EFFECTS` below.

    >>> from grader.physiology import load, windowed_synchrony, synchrony_table
    >>> data = load()                               # validated against the data dictionaries
    >>> windowed_synchrony(data.samples_of("d01"))  # t_s, r: 30 s windows every 5 s
    >>> synchrony_table(data).groupby(["therapist_style", "phase"])["r"].mean()

``dialectic generate-physiology`` regenerates the committed files with :func:`generate` and
:func:`write`; a test fails when they drift apart.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.dictionary import load_dictionary, read_table
from grader.errors import DataValidationError, Problem
from grader.lazy import lazy_import

np = lazy_import("numpy")
pd = lazy_import("pandas")

#: Seed of the committed dataset.
DEFAULT_SEED = 20261122
SAMPLE_RATE_HZ = 4
#: Length of every session: 50 minutes.
SESSION_SECONDS = 3000
SAMPLES_PER_SESSION = SESSION_SECONDS * SAMPLE_RATE_HZ
#: Format of the three tables (``schema_version`` of their dictionaries).
SCHEMA_VERSION = 1

STYLES = ("flexible", "entrained", "detached", "lagging", "leading")
RUPTURE_TYPES = ("withdrawal", "confrontation")
KINDS = ("rupture", "repair")
SIGNALS = ("scl", "hr")
#: Where windowed synchrony falls: outside every episode, or inside one of the two kinds.
PHASES = ("outside", *KINDS)

DYADS_FILE = "dyads.csv"
EPISODES_FILE = "episodes.csv"
SAMPLES_FILE = "samples.csv.gz"
TABLES = {"dyads": DYADS_FILE, "episodes": EPISODES_FILE, "samples": SAMPLES_FILE}

#: Decimals written for each measured column. generate() rounds to the same precision, so
#: the frames it returns equal the frames load() reads back from the files.
DECIMALS = {"t_s": 2, "therapist_scl": 3, "patient_scl": 3, "therapist_hr": 1, "patient_hr": 1}


@dataclass(frozen=True)
class StyleModel:
    """How a therapist style couples the therapist's physiology to the patient's.

    Synchrony is simulated at two time scales. Fast: phasic arousal responses (skin
    conductance responses and the heart-rate accelerations that go with them) are shared
    between partners with probability ``coupling_*``, the follower responding ``lag_s``
    after the leader. Slow: the therapist's tonic level moves towards ``tonic_gain_*`` times
    the patient's episode-driven shift, with time constant ``tonic_tau_s``.
    """

    leader: str
    """Whose responses the other partner follows: "patient" or "therapist"."""
    lag_s: float
    """Delay of the follower's shared responses, in seconds."""
    coupling_outside: float
    """Share of the leader's responses the follower shares outside episodes (0 to 1)."""
    coupling_rupture: float
    """The same during a rupture and while it stays unaddressed before a late repair."""
    coupling_repair: float
    """The same during repair."""
    tonic_gain_rupture: float
    """How far the therapist's tonic level follows the patient's during and after a rupture."""
    tonic_gain_repair: float
    """The same during repair; 0 means the therapist returns to their own baseline."""
    tonic_tau_s: float
    """How quickly the therapist's tonic level follows, in seconds."""
    patient_recovery_s: float
    """Time constant of the patient's return to baseline once repair begins, in seconds."""
    summary: str
    """One sentence for the dyads table and the README."""


STYLE_MODELS: dict[str, StyleModel] = {
    "flexible": StyleModel(
        leader="patient",
        lag_s=1.0,
        coupling_outside=0.45,
        coupling_rupture=0.85,
        coupling_repair=0.15,
        tonic_gain_rupture=0.7,
        tonic_gain_repair=0.0,
        tonic_tau_s=30.0,
        patient_recovery_s=90.0,
        summary="joins the patient's arousal in the rupture, then steps out of synchrony in "
        "repair and calms first, and the patient's arousal follows theirs down",
    ),
    "entrained": StyleModel(
        leader="patient",
        lag_s=0.5,
        coupling_outside=0.65,
        coupling_rupture=0.9,
        coupling_repair=0.9,
        tonic_gain_rupture=1.0,
        tonic_gain_repair=1.0,
        tonic_tau_s=15.0,
        patient_recovery_s=360.0,
        summary="locks into the patient's arousal and stays locked through the rupture and "
        "beyond, so both stay aroused",
    ),
    "detached": StyleModel(
        leader="patient",
        lag_s=1.0,
        coupling_outside=0.1,
        coupling_rupture=0.05,
        coupling_repair=0.1,
        tonic_gain_rupture=0.1,
        tonic_gain_repair=0.1,
        tonic_tau_s=60.0,
        patient_recovery_s=300.0,
        summary="stays out of synchrony, and the patient's arousal rises and settles alone",
    ),
    "lagging": StyleModel(
        leader="patient",
        lag_s=10.0,
        coupling_outside=0.6,
        coupling_rupture=0.7,
        coupling_repair=0.6,
        tonic_gain_rupture=0.7,
        tonic_gain_repair=0.7,
        tonic_tau_s=150.0,
        patient_recovery_s=200.0,
        summary="follows the patient's arousal closely but about ten seconds late",
    ),
    "leading": StyleModel(
        leader="therapist",
        lag_s=3.0,
        coupling_outside=0.6,
        coupling_rupture=0.45,
        coupling_repair=0.75,
        tonic_gain_rupture=0.6,
        tonic_gain_repair=0.0,
        tonic_tau_s=20.0,
        patient_recovery_s=100.0,
        summary="sets the pace, the patient's arousal responses following theirs about "
        "three seconds later",
    ),
}


@dataclass(frozen=True)
class RuptureEffect:
    """How one unit of the patient's episode arousal shows in a type of rupture."""

    scl_shift: tuple[float, float]
    """Range (drawn per rupture) of the change in tonic skin conductance, in µS."""
    hr_shift: tuple[float, float]
    """Range of the change in heart rate, in beats per minute."""
    rate_gain: float
    """Added to 1 to multiply how often the patient's skin conductance responses come."""
    scl_amplitude_gain: float
    """Added to 1 to multiply the size of those responses."""
    hr_amplitude_gain: float
    """Added to 1 to multiply the heart-rate acceleration that goes with each response."""


#: In confrontation the patient's skin conductance and heart rate both rise and responses
#: come faster and larger. In withdrawal heart rate still rises but skin conductance
#: flattens and drifts down: responses shrink and come no faster (shut down, not calm).
RUPTURE_EFFECTS: dict[str, RuptureEffect] = {
    "confrontation": RuptureEffect(
        scl_shift=(1.5, 3.0),
        hr_shift=(8.0, 14.0),
        rate_gain=1.5,
        scl_amplitude_gain=0.5,
        hr_amplitude_gain=0.5,
    ),
    "withdrawal": RuptureEffect(
        scl_shift=(-0.8, -0.3),
        hr_shift=(5.0, 9.0),
        rate_gain=0.0,
        scl_amplitude_gain=-0.6,
        hr_amplitude_gain=0.3,
    ),
}
_RISE_S = 40.0
#: A rupture nobody addresses still fades, but slowly.
_UNREPAIRED_RECOVERY_S = 600.0
_COUPLING_SMOOTHING_S = 10.0


@dataclass(frozen=True)
class _Plan:
    style: str
    ruptures: tuple[tuple[str, str], ...]
    """(rupture_type, repair) in session order; repair is "prompt", "late" or "none"."""
    story: str


_ROSTER = (
    _Plan("flexible", (("confrontation", "prompt"),), "a confrontation rupture, repaired at once"),
    _Plan("flexible", (("withdrawal", "prompt"),), "a withdrawal rupture, repaired at once"),
    _Plan(
        "flexible",
        (("withdrawal", "prompt"), ("confrontation", "none")),
        "a repaired withdrawal rupture, then near the end a confrontation left unrepaired",
    ),
    _Plan(
        "entrained", (("confrontation", "late"),), "a confrontation rupture, repaired minutes late"
    ),
    _Plan("entrained", (("withdrawal", "late"),), "a withdrawal rupture, repaired minutes late"),
    _Plan(
        "entrained", (("confrontation", "none"),), "a confrontation rupture that is never repaired"
    ),
    _Plan(
        "detached", (("confrontation", "none"),), "a confrontation rupture that is never repaired"
    ),
    _Plan("detached", (("withdrawal", "late"),), "a withdrawal rupture, repaired minutes late"),
    _Plan("lagging", (("confrontation", "prompt"),), "a confrontation rupture, repaired at once"),
    _Plan("lagging", (("withdrawal", "none"),), "a withdrawal rupture that is never repaired"),
    _Plan("leading", (("confrontation", "prompt"),), "a confrontation rupture, repaired at once"),
    _Plan("leading", (("withdrawal", "prompt"),), "a withdrawal rupture, repaired at once"),
)

_NOTES = {
    ("rupture", "confrontation"): (
        "The patient says the between-session exercises are pointless and asks whether the "
        "therapist has read their notes at all.",
        "Asked again about her father, the patient snaps that the therapist is following a "
        "script and not listening.",
        "The patient complains that six sessions have changed nothing and that the therapist "
        "just nods.",
    ),
    ("rupture", "withdrawal"): (
        "After an interpretation about his brother the patient goes quiet, says 'I suppose so' "
        "and moves on to rota problems at work.",
        "The patient agrees with everything, laughs off the loss being discussed and talks at "
        "length about a neighbour.",
        "Told of the therapist's coming leave, the patient's answers shrink to a few words.",
    ),
    ("repair", "confrontation"): (
        "The therapist stops defending the task, acknowledges their part and asks what it was "
        "like to feel unheard.",
        "The therapist names the disagreement and invites the patient's anger about the work "
        "itself.",
    ),
    ("repair", "withdrawal"): (
        "The therapist notes the change in the conversation, wonders whether their comment "
        "landed badly, and waits.",
        "The therapist gently names the patient's quiet and asks what happened for them a "
        "moment ago.",
    ),
}
_UNREPAIRED_NOTE = " It is not taken up before the end of the session."
_LATE_NOTE = "Several minutes later, "


@dataclass(frozen=True, eq=False)
class PhysiologyData:
    """The three tables of the dataset, typed as their data dictionaries say."""

    dyads: pd.DataFrame
    """One row per dyad: dyad_id, therapist_style, description, seed."""
    samples: pd.DataFrame
    """One row per dyad and quarter second: t_s and both partners' SCL (µS) and HR (bpm)."""
    episodes: pd.DataFrame
    """One row per labelled rupture or repair, with its start and end in seconds."""

    def samples_of(self, dyad_id: str) -> pd.DataFrame:
        """The samples of one dyad; a misspelt id fails with the nearest real ids."""
        known = self.dyads["dyad_id"].tolist()
        if dyad_id not in known:
            close = difflib.get_close_matches(str(dyad_id), known, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(f"No dyad {dyad_id!r}; dyads are {known[0]} to {known[-1]}.{hint}")
        return self.samples[self.samples["dyad_id"] == dyad_id].reset_index(drop=True)

    def style_of(self, dyad_id: str) -> str:
        """The therapist style of one dyad."""
        return str(self.dyads.loc[self.dyads["dyad_id"] == dyad_id, "therapist_style"].iloc[0])


# --- generation -------------------------------------------------------------------------


def generate(seed: int = DEFAULT_SEED) -> PhysiologyData:
    """Simulate the whole dataset. The same seed gives the same data, bit for bit."""
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(_ROSTER))]
    dyad_rows, episode_rows, sample_frames = [], [], []
    for number, (plan, dyad_seed) in enumerate(zip(_ROSTER, seeds, strict=True), start=1):
        dyad_id = f"d{number:02d}"
        rng = np.random.default_rng(dyad_seed)
        episodes = _schedule(dyad_id, plan, rng)
        samples = _simulate(plan, episodes, rng)
        samples.insert(0, "dyad_id", dyad_id)
        summary = STYLE_MODELS[plan.style].summary
        dyad_rows.append(
            {
                "dyad_id": dyad_id,
                "therapist_style": plan.style,
                "seed": dyad_seed,
                "description": f"{'An' if plan.style[0] in 'aeiou' else 'A'} {plan.style} "
                f"therapist {summary}; the session holds {plan.story}.",
            }
        )
        episode_rows.extend(episodes)
        sample_frames.append(samples)
    dyads = pd.DataFrame(dyad_rows, columns=["dyad_id", "therapist_style", "description", "seed"])
    episodes = pd.DataFrame(
        episode_rows,
        columns=[
            "dyad_id",
            "episode_id",
            "kind",
            "rupture_type",
            "repairs",
            "repaired",
            "start_s",
            "end_s",
            "note",
        ],
    )
    samples = pd.concat(sample_frames, ignore_index=True)
    for column, decimals in DECIMALS.items():
        samples[column] = samples[column].round(decimals)
    return PhysiologyData(
        dyads=_typed_dyads(dyads),
        samples=_typed_samples(samples),
        episodes=_typed_episodes(episodes),
    )


def _schedule(dyad_id: str, plan: _Plan, rng: np.random.Generator) -> list[dict]:
    """Place the plan's ruptures and repairs in the session, in seconds."""
    rows: list[dict] = []
    cursor = int(rng.integers(600, 1081))  # the first rupture comes 10 to 18 minutes in
    for rupture_type, repair in plan.ruptures:
        start = cursor
        end = start + int(rng.integers(150, 331))
        rupture_id = f"{dyad_id}-e{len(rows) + 1}"
        rows.append(
            {
                "dyad_id": dyad_id,
                "episode_id": rupture_id,
                "kind": "rupture",
                "rupture_type": rupture_type,
                "repairs": None,
                "repaired": repair != "none",
                "start_s": start,
                "end_s": end,
                "note": str(rng.choice(_NOTES[("rupture", rupture_type)]))
                + (_UNREPAIRED_NOTE if repair == "none" else ""),
            }
        )
        cursor = end
        if repair != "none":
            repair_start = end + (int(rng.integers(300, 481)) if repair == "late" else 0)
            repair_end = repair_start + int(rng.integers(180, 361))
            note = str(rng.choice(_NOTES[("repair", rupture_type)]))
            if repair == "late":
                note = _LATE_NOTE + note[0].lower() + note[1:]
            rows.append(
                {
                    "dyad_id": dyad_id,
                    "episode_id": f"{dyad_id}-e{len(rows) + 1}",
                    "kind": "repair",
                    "rupture_type": rupture_type,
                    "repairs": rupture_id,
                    "repaired": None,
                    "start_s": repair_start,
                    "end_s": repair_end,
                    "note": note,
                }
            )
            cursor = repair_end
        cursor += int(rng.integers(360, 601))
    if rows[-1]["end_s"] > SESSION_SECONDS - 60:
        raise ValueError(f"the episodes planned for {dyad_id} overrun the session; shorten them")
    return rows


def _simulate(plan: _Plan, episodes: list[dict], rng: np.random.Generator) -> pd.DataFrame:
    """Both partners' SCL and HR for one session, following the plan's episodes."""
    model = STYLE_MODELS[plan.style]
    n = SAMPLES_PER_SESSION
    t = np.arange(n) / SAMPLE_RATE_HZ
    phase = _phase_of_samples(episodes, t)

    # The patient's episode arousal: one 0-1 profile per rupture, rising while it is
    # unaddressed and fading once repair begins (or, unrepaired, once it is dropped).
    patient_scl_shift = np.zeros(n)
    patient_hr_shift = np.zeros(n)
    rate_factor = np.ones(n)
    patient_scl_amplitude = np.ones(n)
    patient_hr_amplitude = np.ones(n)
    total_arousal = np.zeros(n)
    repair_of = {e["repairs"]: e for e in episodes if e["kind"] == "repair"}
    for rupture in (e for e in episodes if e["kind"] == "rupture"):
        repair = repair_of.get(rupture["episode_id"])
        release = repair["start_s"] if repair else rupture["end_s"]
        active = (t >= rupture["start_s"]) & (t < release)
        recovery = model.patient_recovery_s if repair else _UNREPAIRED_RECOVERY_S
        arousal = _relax(active.astype(float), np.where(active, _RISE_S, recovery))
        effect = RUPTURE_EFFECTS[rupture["rupture_type"]]
        patient_scl_shift += rng.uniform(*effect.scl_shift) * arousal
        patient_hr_shift += rng.uniform(*effect.hr_shift) * arousal
        rate_factor += effect.rate_gain * arousal
        patient_scl_amplitude += effect.scl_amplitude_gain * arousal
        patient_hr_amplitude += effect.hr_amplitude_gain * arousal
        total_arousal += arousal
    patient_scl_amplitude = np.clip(patient_scl_amplitude, 0.1, None)

    # Between episodes the therapist keeps the relation to the patient's lingering arousal
    # that the last episode phase set (after a repair, the repair's).
    last_phase = pd.Series(phase).replace("outside", None).ffill().fillna("rupture").to_numpy()
    gain = np.where(last_phase == "repair", model.tonic_gain_repair, model.tonic_gain_rupture)
    tau = np.full(n, model.tonic_tau_s)
    responsivity = rng.uniform(0.6, 0.9)  # therapists react less than their patients
    therapist_scl_shift = _relax(gain * patient_scl_shift * responsivity, tau)
    therapist_hr_shift = _relax(gain * patient_hr_shift * responsivity, tau)
    therapist_arousal = _relax(gain * total_arousal * responsivity, tau)

    coupling_target = np.select(
        [phase == "rupture", phase == "aftermath", phase == "repair"],
        [model.coupling_rupture, model.coupling_rupture, model.coupling_repair],
        default=model.coupling_outside,
    )
    coupling = _relax(
        coupling_target, np.full(n, _COUPLING_SMOOTHING_S), start=model.coupling_outside
    )

    patient_rate = rng.uniform(3.0, 5.0) / 60 * rate_factor
    therapist_rate = rng.uniform(3.0, 4.5) / 60 * np.ones(n)
    if model.leader == "patient":
        patient_events, therapist_events = _shared_events(
            rng, patient_rate, therapist_rate, coupling, model.lag_s
        )
    else:
        therapist_events, patient_events = _shared_events(
            rng, therapist_rate, patient_rate, coupling, model.lag_s
        )

    columns = {"t_s": t}
    for who, events, scl_shift, hr_shift, scl_amp, hr_amp, arousal in (
        (
            "therapist",
            therapist_events,
            therapist_scl_shift,
            therapist_hr_shift,
            np.ones(n),
            np.ones(n),
            therapist_arousal,
        ),
        (
            "patient",
            patient_events,
            patient_scl_shift,
            patient_hr_shift,
            patient_scl_amplitude,
            patient_hr_amplitude,
            total_arousal,
        ),
    ):
        columns[f"{who}_scl"] = _skin_conductance(rng, t, events * scl_amp, scl_shift, who)
        columns[f"{who}_hr"] = _heart_rate(rng, t, events * hr_amp, hr_shift, arousal, who)
    return pd.DataFrame(columns)[list(DECIMALS)]


def _phase_of_samples(episodes: list[dict], t: np.ndarray) -> np.ndarray:
    """rupture / repair inside episodes, aftermath between a rupture and its late repair."""
    phase = np.full(t.shape, "outside", dtype=object)
    by_id = {e["episode_id"]: e for e in episodes}
    for e in episodes:
        phase[(t >= e["start_s"]) & (t < e["end_s"])] = e["kind"]
        if e["kind"] == "repair":
            phase[(t >= by_id[e["repairs"]]["end_s"]) & (t < e["start_s"])] = "aftermath"
    return phase


def _shared_events(rng, leader_rate, follower_rate, coupling, lag_s):
    """Arousal responses of two partners, as event strengths on the sample grid.

    The leader responds at its own rate. Each leader response is shared by the follower
    with probability ``coupling`` at the time, ``lag_s`` later (with half a second of
    jitter) and with a correlated size; the follower also responds on their own, less
    often the more they are coupled, so their overall rate stays about the same.
    """
    n = len(leader_rate)
    dt = 1 / SAMPLE_RATE_HZ
    leader_z = rng.standard_normal(n)
    leader = np.where(rng.random(n) < leader_rate * dt, np.exp(0.5 * leader_z), 0.0)
    follower = np.where(
        rng.random(n) < follower_rate * (1 - coupling) * dt,
        np.exp(0.5 * rng.standard_normal(n)),
        0.0,
    )
    for i in np.flatnonzero(leader):
        if rng.random() < coupling[i]:
            j = i + int(round((lag_s + rng.normal(0, 0.5)) * SAMPLE_RATE_HZ))
            if 0 <= j < n:
                z = 0.7 * leader_z[i] + 0.71 * rng.standard_normal()
                follower[j] += np.exp(0.5 * z)
    return leader, follower


def _skin_conductance(rng, t, events, shift, who) -> np.ndarray:
    """Tonic level with slow drift and habituation, episode shift, phasic responses."""
    base = rng.uniform(3.0, 11.0) if who == "patient" else rng.uniform(3.0, 9.0)
    habituation = rng.uniform(0.05, 0.2) * base * (1 - np.exp(-t / 900))
    drift = 0.15 * _smooth_noise(rng, len(t), 300.0)
    response_size = rng.uniform(0.15, 0.4)  # µS per typical skin conductance response
    phasic = response_size * _convolve(events, _scr_kernel())
    noise = rng.normal(0, 0.003, len(t))
    return np.maximum(base - habituation + drift + shift + phasic + noise, 0.5)


def _heart_rate(rng, t, events, shift, arousal, who) -> np.ndarray:
    """Resting rate, slow drift, episode shift, accelerations, respiratory sinus arrhythmia."""
    base = rng.uniform(66.0, 84.0) if who == "patient" else rng.uniform(62.0, 78.0)
    drift = 2.0 * _smooth_noise(rng, len(t), 300.0) + 1.5 * _smooth_noise(rng, len(t), 20.0)
    acceleration = rng.uniform(2.0, 5.0) * _convolve(events, _hr_kernel())
    # Breathing at 12-18 per minute, with a wandering phase; the arrhythmia shrinks with
    # arousal (vagal withdrawal).
    breaths_per_s = rng.uniform(0.2, 0.3)
    wander = np.cumsum(rng.normal(0, 0.05, len(t)))
    rsa = (
        rng.uniform(2.0, 5.0)
        * np.clip(1 - 0.5 * arousal, 0.3, 1)
        * np.sin(2 * np.pi * breaths_per_s * t + wander)
    )
    noise = rng.normal(0, 0.3, len(t))
    return np.clip(base + drift + shift + acceleration + rsa + noise, 40.0, 180.0)


def _scr_kernel() -> np.ndarray:
    """A skin conductance response: 1.5 s latency, fast rise, recovery over several seconds."""
    s = np.arange(0, 30, 1 / SAMPLE_RATE_HZ)
    after = np.clip(s - 1.5, 0, None)
    shape = np.exp(-after / 4.0) - np.exp(-after / 0.75)
    return shape / shape.max()


def _hr_kernel() -> np.ndarray:
    """A cardiac acceleration: peaks about two seconds after the event, gone by fifteen."""
    s = np.arange(0, 20, 1 / SAMPLE_RATE_HZ)
    shape = np.exp(-s / 3.0) - np.exp(-s / 1.0)
    return shape / shape.max()


def _convolve(events: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.convolve(events, kernel)[: len(events)]


def _smooth_noise(rng, n: int, tau_s: float) -> np.ndarray:
    """Unit-variance noise with an exponential autocorrelation of time constant tau_s."""
    width = int(5 * tau_s * SAMPLE_RATE_HZ) + 1
    kernel = np.exp(-np.arange(width) / (tau_s * SAMPLE_RATE_HZ))
    kernel /= np.sqrt(np.sum(kernel**2))
    return np.convolve(rng.standard_normal(n + width - 1), kernel, mode="valid")


def _relax(target: np.ndarray, tau_s: np.ndarray, start: float = 0.0) -> np.ndarray:
    """First-order lag: follow ``target`` with a time constant that may change over time."""
    alpha = (1 - np.exp(-1 / (np.asarray(tau_s, dtype=float) * SAMPLE_RATE_HZ))).tolist()
    out, level = [], start
    for a, x in zip(alpha, target.tolist(), strict=True):
        level += a * (x - level)
        out.append(level)
    return np.array(out)


# --- types and files --------------------------------------------------------------------
# load() types each column as grader.dictionary.typed does from the schema; generate()
# builds the same dtypes so either way a notebook gets identical frames.


def _typed_dyads(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "dyad_id": "string",
            "therapist_style": pd.CategoricalDtype(list(STYLES)),
            "description": "string",
            "seed": "Int64",
        }
    )


def _typed_episodes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "dyad_id": "string",
            "episode_id": "string",
            "kind": pd.CategoricalDtype(list(KINDS)),
            "rupture_type": pd.CategoricalDtype(list(RUPTURE_TYPES)),
            "repairs": "string",
            "repaired": "boolean",
            "start_s": "Int64",
            "end_s": "Int64",
            "note": "string",
        }
    )


def _typed_samples(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"dyad_id": "string", **{c: "Float64" for c in DECIMALS}})


def write(data: PhysiologyData, directory: Path | str) -> list[Path]:
    """Write the three tables into ``directory``; the same data always gives the same bytes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, file in TABLES.items():
        text = _as_text(getattr(data, name)).to_csv(index=False, lineterminator="\n")
        path = directory / file
        if file.endswith(".gz"):
            # No file name and a zero timestamp in the gzip header, so reruns match byte for byte.
            with (
                path.open("wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
            ):
                gz.write(text.encode("utf-8"))
        else:
            path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the string the data dictionary expects ("" for missing)."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in DECIMALS:
            text = values.map(f"{{:.{DECIMALS[column]}f}}".format, na_action="ignore")
        elif isinstance(values.dtype, pd.BooleanDtype):
            text = values.map({True: "true", False: "false"}.get, na_action="ignore")
        else:
            text = values.astype("string")
        out[column] = text.astype(object).where(values.notna(), "")
    return out


_CACHE: dict[tuple, PhysiologyData] = {}


def load(directory: Path | str | None = None) -> PhysiologyData:
    """Read and validate the dataset: each table against its dictionary, then across tables.

    Cached until a file in the folder changes, as the item bank is: a module that draws
    two physiology charts reads the 144,000 samples once.
    Raises :class:`DataValidationError` naming the file, row and column of every problem.
    """
    directory = Path(directory) if directory is not None else paths.physiology_dir()
    # content hashes, not mtimes: an edit within one clock tick must not be served stale
    stamp = (str(directory),) + tuple(
        (f.name, hashlib.blake2b(f.read_bytes()).hexdigest())
        for f in sorted(directory.iterdir())
        if f.is_file()
    )
    if stamp not in _CACHE:
        _CACHE.clear()
        _CACHE[stamp] = _load(directory)
    return _CACHE[stamp]


def _load(directory: Path) -> PhysiologyData:
    tables, problems = {}, []
    for name in TABLES:
        dictionary = load_dictionary(directory / f"{name}.schema.yaml")
        if dictionary.schema_version != SCHEMA_VERSION:
            problems.append(
                Problem(
                    str(directory / f"{name}.schema.yaml"),
                    f"schema_version {dictionary.schema_version} is not {SCHEMA_VERSION}",
                )
            )
            continue
        tables[name] = read_table(directory / dictionary.file, dictionary)
    if problems:
        raise DataValidationError(problems)
    data = PhysiologyData(**tables)
    problems = _check_episodes(data, directory) + _check_samples(data, directory)
    if problems:
        raise DataValidationError(problems)
    return data


def _check_episodes(data: PhysiologyData, directory: Path) -> list[Problem]:
    episodes, source = data.episodes, str(directory / EPISODES_FILE)
    known = set(data.dyads["dyad_id"])
    problems: list[Problem] = []

    def problem(index: int, column: str, message: str) -> None:
        problems.append(Problem(source, message, row=index + 1, column=column))

    by_id = {
        e.episode_id: (i, e) for i, e in zip(episodes.index, episodes.itertuples(), strict=True)
    }
    repaired_by = {e.repairs for e in episodes.itertuples() if e.kind == "repair"}
    for i, e in zip(episodes.index, episodes.itertuples(), strict=True):
        if e.dyad_id not in known:
            problem(i, "dyad_id", f"names dyad {e.dyad_id!r}, which is not in {DYADS_FILE}")
        if not e.episode_id.startswith(f"{e.dyad_id}-"):
            problem(i, "episode_id", f"{e.episode_id!r} does not start with its dyad id")
        if e.start_s >= e.end_s:
            problem(i, "end_s", f"ends at {e.end_s} s, not after its start at {e.start_s} s")
        if e.end_s > SESSION_SECONDS:
            problem(i, "end_s", f"ends at {e.end_s} s, after the {SESSION_SECONDS} s session")
        if e.kind == "rupture":
            if pd.notna(e.repairs):
                problem(i, "repairs", "a rupture repairs nothing; leave repairs empty")
            if pd.isna(e.repaired):
                problem(i, "repaired", "a rupture needs repaired true or false")
            elif bool(e.repaired) != (e.episode_id in repaired_by):
                has = "a" if e.episode_id in repaired_by else "no"
                flag = str(bool(e.repaired)).lower()
                problem(i, "repaired", f"is {flag} but {has} repair row names it")
            continue
        if pd.notna(e.repaired):
            problem(i, "repaired", "only rupture rows say whether they were repaired")
        target = by_id.get(e.repairs) if pd.notna(e.repairs) else None
        if target is None or target[1].kind != "rupture" or target[1].dyad_id != e.dyad_id:
            problem(
                i,
                "repairs",
                f"a repair must name a rupture of dyad {e.dyad_id}; {e.repairs!r} is not one",
            )
            continue
        rupture = target[1]
        if e.start_s < rupture.end_s:
            problem(
                i,
                "start_s",
                f"starts at {e.start_s} s, before the rupture it repairs "
                f"({rupture.episode_id}) ends at {rupture.end_s} s",
            )
        if e.rupture_type != rupture.rupture_type:
            problem(
                i,
                "rupture_type",
                f"is {e.rupture_type} but the rupture it repairs is {rupture.rupture_type}",
            )
    for dyad_id, group in episodes.groupby("dyad_id", sort=False, observed=True):
        ordered = group.sort_values("start_s")
        ends = ordered["end_s"].shift()
        for i in ordered.index[ordered["start_s"] < ends]:
            problem(i, "start_s", f"overlaps an earlier episode of dyad {dyad_id}")
    dyad_source = str(directory / DYADS_FILE)
    for i, dyad_id in zip(data.dyads.index, data.dyads["dyad_id"], strict=True):
        if not (episodes["dyad_id"] == dyad_id).any():
            problems.append(
                Problem(
                    dyad_source,
                    f"dyad {dyad_id} has no episodes in {EPISODES_FILE}",
                    row=i + 1,
                    column="dyad_id",
                )
            )
    return problems


def _check_samples(data: PhysiologyData, directory: Path) -> list[Problem]:
    samples, source = data.samples, str(directory / SAMPLES_FILE)
    dyad_ids = samples["dyad_id"].to_numpy(dtype=object)
    times = samples["t_s"].to_numpy(dtype=float)
    problems: list[Problem] = []
    known = set(data.dyads["dyad_id"])
    for dyad_id in pd.unique(dyad_ids):
        rows = np.flatnonzero(dyad_ids == dyad_id)
        if dyad_id not in known:
            problems.append(
                Problem(
                    source,
                    f"names dyad {dyad_id!r}, which is not in {DYADS_FILE}",
                    row=int(rows[0]) + 1,
                    column="dyad_id",
                )
            )
            continue
        if len(rows) != SAMPLES_PER_SESSION:
            problems.append(
                Problem(
                    source,
                    f"dyad {dyad_id} has {len(rows)} samples; a {SESSION_SECONDS} s session at "
                    f"{SAMPLE_RATE_HZ} Hz has {SAMPLES_PER_SESSION}",
                    row=int(rows[0]) + 1,
                    column="dyad_id",
                )
            )
        t = times[rows]
        out_of_order = np.flatnonzero(np.diff(t) <= 0) + 1
        for k in out_of_order:
            problems.append(
                Problem(
                    source,
                    f"t_s {t[k]:g} does not come after the previous "
                    f"sample's {t[k - 1]:g} in dyad {dyad_id}",
                    row=int(rows[k]) + 1,
                    column="t_s",
                )
            )
        expected = np.arange(len(t)) / SAMPLE_RATE_HZ
        off_grid = np.flatnonzero(np.abs(t - expected) > 1e-6)
        # A missing sample shifts every later one off the grid: the first is worth reporting.
        if len(off_grid) and not len(out_of_order):
            k = off_grid[0]
            problems.append(
                Problem(
                    source,
                    f"t_s {t[k]:g} is off the {SAMPLE_RATE_HZ} Hz grid "
                    f"of dyad {dyad_id}; expected {expected[k]:g}",
                    row=int(rows[k]) + 1,
                    column="t_s",
                )
            )
    for dyad_id in sorted(known - set(dyad_ids)):
        problems.append(Problem(source, f"has no samples for dyad {dyad_id}"))
    return problems


# --- synchrony --------------------------------------------------------------------------


def windowed_synchrony(
    samples: pd.DataFrame,
    signal: str = "scl",
    window_s: float = 30,
    step_s: float = 5,
    lag_s: float = 0,
) -> pd.DataFrame:
    """Rolling Pearson correlation between therapist and patient for one dyad.

    ``samples`` is one dyad's contiguous 4 Hz samples (e.g. ``data.samples_of("d01")``).
    Returns one row per window: ``t_s``, the window's centre in the therapist's time, and
    ``r``, the correlation (NaN when a window is flat). A positive ``lag_s`` compares the
    therapist with the patient ``lag_s`` seconds earlier, which finds a therapist who follows;
    a negative one finds a therapist who leads.
    """
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {', '.join(SIGNALS)}; got {signal!r}")
    if "dyad_id" in samples.columns and samples["dyad_id"].nunique() > 1:
        raise ValueError("windowed_synchrony takes one dyad's samples: data.samples_of(dyad_id)")
    t = samples["t_s"].to_numpy(dtype=float, na_value=np.nan)
    if len(t) > 1 and not np.allclose(np.diff(t), 1 / SAMPLE_RATE_HZ):
        raise ValueError(f"samples must be a contiguous {SAMPLE_RATE_HZ} Hz series, in time order")
    therapist = samples[f"therapist_{signal}"].to_numpy(dtype=float, na_value=np.nan)
    patient = samples[f"patient_{signal}"].to_numpy(dtype=float, na_value=np.nan)
    width = int(round(window_s * SAMPLE_RATE_HZ))
    step = int(round(step_s * SAMPLE_RATE_HZ))
    lag = int(round(lag_s * SAMPLE_RATE_HZ))
    if width < 3 or step < 1:
        raise ValueError("window_s must span at least 3 samples and step_s at least one")
    n = len(t)
    if lag >= 0:
        therapist, patient, t = therapist[lag:], patient[: n - lag], t[lag:]
    else:
        therapist, patient, t = therapist[: n + lag], patient[-lag:], t[: n + lag]
    if len(t) < width:
        return pd.DataFrame({"t_s": pd.Series(dtype=float), "r": pd.Series(dtype=float)})
    x = np.lib.stride_tricks.sliding_window_view(therapist, width)[::step]
    y = np.lib.stride_tricks.sliding_window_view(patient, width)[::step]
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=1) / np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    centres = t[: len(t) - width + 1 : step] + (width - 1) / (2 * SAMPLE_RATE_HZ)
    return pd.DataFrame({"t_s": centres, "r": r})


def synchrony_table(
    data: PhysiologyData,
    signal: str = "scl",
    window_s: float = 30,
    step_s: float = 5,
    lag_s: float = 0,
) -> pd.DataFrame:
    """Windowed synchrony of every dyad, each window labelled with the episode it falls in.

    One row per window: dyad_id, therapist_style, t_s, r, phase (outside, rupture or
    repair, by where the window's centre falls) and episode_id (missing outside episodes).
    Summaries are one groupby away, e.g. ``.groupby(["therapist_style", "phase"])["r"].mean()``.
    """
    frames = []
    for dyad_id in data.dyads["dyad_id"]:
        sync = windowed_synchrony(data.samples_of(dyad_id), signal, window_s, step_s, lag_s)
        sync.insert(0, "dyad_id", dyad_id)
        sync.insert(1, "therapist_style", data.style_of(dyad_id))
        sync["phase"] = "outside"
        sync["episode_id"] = None
        for e in data.episodes[data.episodes["dyad_id"] == dyad_id].itertuples():
            inside = (sync["t_s"] >= e.start_s) & (sync["t_s"] < e.end_s)
            sync.loc[inside, "phase"] = e.kind
            sync.loc[inside, "episode_id"] = e.episode_id
        frames.append(sync)
    table = pd.concat(frames, ignore_index=True)
    return table.astype(
        {
            "dyad_id": "string",
            "therapist_style": pd.CategoricalDtype(list(STYLES)),
            "phase": pd.CategoricalDtype(list(PHASES)),
            "episode_id": "string",
        }
    )
