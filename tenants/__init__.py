"""Tenancy and each school's own records (pupils, applications, the registry of issued cards)."""
