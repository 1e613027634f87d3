"""What every benchmark shares: where logs and results go, the stamp on each record,
the classical baselines and the C2ST of several draws.

Logs (``logs/*.jsonl``) hold one JSON record per measurement, appended as it comes,
so a long run can stop and resume; every record is stamped with the commit, the
skddpm and torch versions, the machine and its load. Results (``results/*.md``) are
the Markdown tables written from the logs or by the scripts that have no log.
"""

import functools
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

import skddpm
from skddpm.metrics import classifier_two_sample_test

HERE = Path(__file__).resolve().parent
LOGS = HERE / "logs"
RESULTS = HERE / "results"


@functools.cache
def commit():
    """The checkout's commit, with ``+changes`` when the work tree differs from it: read
    once per process, the code the process imported."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "../skddpm")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def machine():
    """The CPU, its cores and torch's threads, as a short phrase."""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads"


def stamp():
    """What a record was measured with: commit, versions, machine and its load."""
    return {
        "commit": commit(),
        "skddpm": skddpm.__version__,
        "torch": torch.__version__,
        "machine": machine(),
        "load": round(os.getloadavg()[0], 2),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }


def log_path(name):
    return LOGS / f"{name}.jsonl"


def append_record(name, record):
    """Append ``record``, stamped, to the log ``name``; returns the stamped record."""
    LOGS.mkdir(exist_ok=True)
    record = {**record, **stamp()}
    with log_path(name).open("a") as log:
        log.write(json.dumps(record) + "\n")
    return record


def read_records(name):
    """Every record of the log ``name``, oldest first (records from before stamps
    have no ``commit``)."""
    path = log_path(name)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_result(name, lines):
    """Write the Markdown ``lines`` to ``results/<name>.md``; returns the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    return path


def header(command):
    """The first lines of a results file: the command that wrote it and what ran it."""
    s = stamp()
    return [
        f"`{command}` at commit {s['commit']} (skddpm {s['skddpm']}, torch {s['torch']}) "
        f"on {s['machine']}, load {s['load']} at the start, {s['when']}.",
        "",
    ]


def timed(fn):
    """``(fn(), seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def like_the_data(samples, train):
    """Round whole-number columns and clip to the range, as DiffusionGenerator does."""
    whole = np.all(train == np.round(train), axis=0)
    samples = np.array(samples, dtype=np.float64)
    samples[:, whole] = np.clip(
        np.round(samples[:, whole]), train.min(0)[whole], train.max(0)[whole]
    )
    return samples


def gmm_by_bic(X, components=None):
    """The GaussianMixture of the grid ``components`` with the lowest BIC on ``X``."""
    if components is None:
        components = (1, 2, 5, 10, 20, 30, 50, 75, 100) if X.shape[1] <= 2 else (1, 2, 5, 10, 20)
    fits = [GaussianMixture(k, random_state=0).fit(X) for k in components if k < len(X)]
    return min(fits, key=lambda gmm: gmm.bic(X))


def kde_by_cv(X, bandwidths=None, cv=3):
    """The KernelDensity whose bandwidth (of ``bandwidths``, by default 0.5 % to 50 % of
    the mean column sd) has the best ``cv``-fold held-out likelihood."""
    if bandwidths is None:
        bandwidths = X.std(axis=0).mean() * np.geomspace(0.005, 0.5, 12)
    grid = {"bandwidth": bandwidths}
    return GridSearchCV(KernelDensity(), grid, cv=cv).fit(X).best_estimator_


def c2st_draws(draw, reference, n_draws=5):
    """Mean and standard deviation of C2ST over ``n_draws`` draws ``draw(seed)``, each
    judged with its own classifier seed, and the first draw."""
    samples = [draw(seed) for seed in range(n_draws)]
    scores = [classifier_two_sample_test(x, reference, random_state=seed)
              for seed, x in enumerate(samples)]  # fmt: skip
    return np.mean(scores), np.std(scores, ddof=1), samples[0]
