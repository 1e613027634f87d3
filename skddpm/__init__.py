"""skddpm: denoising diffusion models as a scikit-learn estimator.

>>> from skddpm import DiffusionGenerator
"""

from ._estimator import DiffusionGenerator
from .schedules import NoiseSchedule, make_beta_schedule

__all__ = ["DiffusionGenerator", "NoiseSchedule", "make_beta_schedule"]
__version__ = "0.1.0"
