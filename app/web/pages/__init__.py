"""One Streamlit page script per page (`st.Page`); `run` is the body of a run's own page."""
