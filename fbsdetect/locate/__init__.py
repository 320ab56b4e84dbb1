"""Localization of a transmitter from received power at GPS fixes (issue 12):
estimators (grid posterior with honest regions, least squares, centroid),
moving transmitters (fit quality, tracks) and drive guidance. Pure functions
over `PowerSample`s; nothing here reads the store or a scene's truth."""

from fbsdetect.locate.estimate import (
    Estimate,
    centroid,
    fixed_exponent_lsq,
    locate,
    lsq_fit,
)
from fbsdetect.locate.samples import PowerSample, samples_from_observations

__all__ = ["Estimate", "PowerSample", "centroid", "fixed_exponent_lsq", "locate", "lsq_fit",
           "samples_from_observations"]
