"""Consultations with school directors: a city asks its schools' directors a fixed set of
questions about the card channel (and one question of its own), with a deadline; each director
answers for the school and may change the answer until the deadline (docs/city.md, *Konsultacje z
dyrektorami*)."""
