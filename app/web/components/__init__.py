"""Parts the pages share: the store and cached frames (`ui`), URL state (`viewstate`), forms,
charts of a run, leaderboard formatting, downloads and subnet actions."""
