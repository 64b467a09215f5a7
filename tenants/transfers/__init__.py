"""A pupil's transfer between two schools of one city: a request the receiving school decides."""
