"""Streamlit-side helpers: app state, cached resources, shared widgets and charts."""
