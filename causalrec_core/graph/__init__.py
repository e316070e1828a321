"""Causal graphs: the graph model, templates, formats, identification, testable implications and
structure learning. A graph is a ``networkx.DiGraph``; node attributes ``role``, ``column``,
``description``, ``latent``; edge attributes ``origin``, ``confidence``, ``note``."""
