"""The Auto-Spikformer app: `streamlit run app/streamlit_app.py` (what `autospikformer up` serves).

The web face lives in `app/web/`: `main` (navigation), `pages/` and `components/`.
"""

from app.web.main import main

main()
