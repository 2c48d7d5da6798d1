"""Bridges to other tools: importers of foreign tuning histories (and, later, samplers)."""
