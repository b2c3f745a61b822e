"""Model family modules. Every module here is imported by ``families`` and registers its
families with ``@register``; modules import torch/statsforecast/arch lazily, inside functions."""
