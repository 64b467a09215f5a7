"""What the city sees: aggregates per school and channel, never a pupil's data."""
