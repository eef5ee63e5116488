"""Demo data beyond the registry and the year's events: honour-roll consents, the demo bank with
its products, consents and pulls, listed measures, commitment templates and signed commitments, the semi-annual reports. Each step
is idempotent."""

from __future__ import annotations

from datetime import date


async def seed_extras(today: date) -> dict:
    from dev import demo_bank, demo_commitments, demo_honour, demo_measures, demo_reports

    return {"honour": await demo_honour.seed(today), "bank": await demo_bank.seed(today),
            "measures": await demo_measures.seed(today), "commitments": await demo_commitments.seed(today),
            "reports": await demo_reports.seed(today)}  # last: the reports count what the steps before wrote
