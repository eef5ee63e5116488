"""Ratings — live standing and official ratings: 信用户 → 信用村 → 信用乡镇, approval and publicity."""
