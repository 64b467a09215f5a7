"""Technical plumbing shared by every domain package: database, queue, storage, crypto, mail.

Nothing here imports a Legitka domain package (tenants, printing, reports, portal).
"""
