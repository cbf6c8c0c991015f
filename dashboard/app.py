"""Trainscope's entry script: page config and navigation, nothing else."""
import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Trainscope", page_icon=":material/monitoring:", layout="wide")
pages = [
    st.Page("views/train.py", title="Train", icon=":material/model_training:", default=True),
    st.Page("views/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("views/predict.py", title="Predict", icon=":material/online_prediction:", url_path="predict"),
]
st.navigation(pages).run()
