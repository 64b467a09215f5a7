"""The school's card registry (ewidencja): each card's number and life, and the hologram ledger."""
