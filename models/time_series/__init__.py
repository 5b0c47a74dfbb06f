"""The reference text's time-series RNN: one-step-ahead prediction at every step, with the
cost over a window of outputs, and the same network run "creatively" on its own predictions.

python -m models.time_series train --variant projection
python -m models.time_series generate
"""

from .networks import VARIANTS, SeriesRNN
from .series import time_series, training_batch

__all__ = ["VARIANTS", "SeriesRNN", "time_series", "training_batch"]
