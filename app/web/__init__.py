"""The web face of the app: the Streamlit entry (`main`, run by `app/streamlit_app.py`), one script
per page under `pages/`, and the parts the pages share under `components/`."""
