"""激励惩戒措施清单 — measures by list only (arts. 38–43) and their eligibility lists."""
