"""CausalRec Studio core library: data, causal graphs, effects, recommenders, evaluation.

Never imports streamlit; torch and transformers are imported lazily inside the functions
that need them.
"""

__version__ = "0.1.0"
