"""村规民约积分 (积分制) — a village's own points items within the county's limits (issue 12 item 4).

See ``services`` for who may do what and ``points_rules.village_rules`` for the rules themselves.
Village points are kept apart from the county ledger: they never enter ``ledger_entry``, the hash
chain, the county score, grade or standing.
"""
