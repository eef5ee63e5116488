"""Registry — county, townships, villages, grids, households, people, party branches, organisations."""
