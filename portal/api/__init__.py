"""The printers' REST API under /api/v1: OAuth2 client credentials (authlib), JSON over the
printing domain's own operations, an OpenAPI document (docs/security.md §2.8, T2.15–T2.17).

`views.bp` is the blueprint; registering it also exempts it from CSRF (no cookies are used:
every request carries a bearer token) and answers unknown /api/ URLs in JSON.
"""
