"""Versioned churn model artifacts on disk (joblib), one file per training run."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import joblib

from models.bgnbd import BgNbdParams
from models.estimator import ChurnModel


class ArtifactError(RuntimeError):
    """An artifact is missing, unreadable or does not fit the requested scoring run."""


@dataclass
class ChurnArtifact:
    """What a scoring run needs from a training run, and where it came from."""

    kind: str  # "model" | "bgnbd"
    version: str
    trained_as_of: datetime
    horizon_days: int
    payload: ChurnModel | BgNbdParams
    metrics: dict[str, float] = field(default_factory=dict)


def version_for(kind: str, trained_as_of: datetime, fingerprint: bytes) -> str:
    """`<kind>-<as_of>-<hash>`: the same training data and settings give the same version."""
    digest = hashlib.sha256(fingerprint).hexdigest()[:10]
    return f"{kind}-{trained_as_of:%Y%m%dT%H%M%S}-{digest}"


def save_artifact(artifact: ChurnArtifact, artifacts_dir: Path | str) -> Path:
    """Write the artifact as `churn-<as_of>-<hash>.joblib` under `artifacts_dir`."""
    directory = Path(artifacts_dir)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = artifact.version.split("-")[-1]
    path = directory / f"churn-{artifact.trained_as_of:%Y%m%dT%H%M%S}-{suffix}.joblib"
    # Write then rename so a crash never leaves a truncated artifact under the final name.
    tmp = path.with_suffix(".joblib.tmp")
    joblib.dump(artifact, tmp)
    tmp.replace(path)
    return path


def load_artifact(path: Path | str) -> ChurnArtifact:
    """Read an artifact written by `save_artifact`."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"no churn model artifact at {path}")
    try:
        artifact = joblib.load(path)
    except Exception as exc:  # joblib raises many types for a corrupt or foreign file
        raise ArtifactError(f"cannot read churn model artifact {path}: {exc}") from exc
    if not isinstance(artifact, ChurnArtifact):
        raise ArtifactError(f"{path} is not a churn model artifact")
    return artifact
