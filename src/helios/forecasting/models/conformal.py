"""Registers the ``conformal`` wrapper family; its logic lives in ``forecasting/conformal.py``."""

from helios.forecasting.conformal import Conformal
from helios.forecasting.families import register

register(Conformal)
