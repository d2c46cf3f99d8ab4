"""What both faces of the app use: result frames (`frames`), Altair charts (`charts`) and the
paper-style report (`report`). Imports engine/, storage/ and tasks/, never `app.cli` or
`app.web`."""
