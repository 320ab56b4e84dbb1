"""gr-gsm as a subprocess backend and cross-check (issue 15)."""
