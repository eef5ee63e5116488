"""信用承诺 — credit commitments: templates, signing, term and check, kept or broken through the catalogue."""
