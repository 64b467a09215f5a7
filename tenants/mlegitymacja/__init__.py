"""mLegitymacja bookkeeping: the school's to-do list for SIO, objections and the CSV to type in."""
