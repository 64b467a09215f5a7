"""Tenancy itself: organisations and their people, the tenant a piece of work acts for, the ORM
safety net and database settings that keep each school's rows its own, the access log, and the
errors every operation of the school domain raises."""
