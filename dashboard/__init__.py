"""Trainscope's Streamlit dashboard: pages, session state, caching and plotly charts."""
