"""Agents: named things that forecast with models, watch series and remember what happened."""
