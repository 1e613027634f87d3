"""skddpm: denoising diffusion models as a scikit-learn estimator.

>>> from skddpm import DiffusionGenerator
"""

from ._estimator import DiffusionGenerator
from ._impute import DiffusionImputer
from ._pipeline import sample_pipeline
from .schedules import NoiseSchedule, make_beta_schedule

__all__ = [
    "DiffusionGenerator",
    "DiffusionImputer",
    "NoiseSchedule",
    "make_beta_schedule",
    "sample_pipeline",
]
__version__ = "0.1.0"
