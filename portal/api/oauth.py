"""The OAuth2 authorization server (client credentials only) and the bearer-token protector.

authlib does the protocol; `printing.api_clients` keeps the credentials. Differences from
authlib's defaults, on purpose (docs/security.md §2.8):
- one grant, `client_credentials`; any other `grant_type` is `unsupported_grant_type`;
- tokens live at most 900 s (authlib's default for this grant is ten days), opaque random
  strings stored as SHA-256 only;
- client secrets are checked against their hash in constant time (authlib's mixin would
  compare a stored plaintext);
- scopes are only `batches:read` and `batches:ack`, and a client gets at most what it was
  given (`invalid_scope` otherwise);
- every failed client authentication is a 401 `invalid_client`, whichever way the credentials
  came (authlib answers 400 for an unknown client in the form body).
"""

from __future__ import annotations

import secrets

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc6749 import authenticate_client as client_auth
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import current_app

from infra.db import db
from infra.db import utcnow
from portal.api.errors import ApiError
from printing import api_clients
from printing.models import ApiClient
from printing.models import ApiToken

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Client(ClientMixin):
    """authlib's view of an `ApiClient` row."""

    def __init__(self, row: ApiClient) -> None:
        self.row = row

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == ClientCredentialsGrant.GRANT_TYPE

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in AUTH_METHODS

    def check_client_secret(self, client_secret):
        matches = api_clients.verify_secret(client_secret, self.row.secret_hash)
        return matches and self.row.revoked_at is None

    def get_allowed_scope(self, scope):
        """The requested scope if the client holds all of it (the client's whole scope when none
        is asked for); None makes authlib answer `invalid_scope`."""
        granted = scope_to_list(self.row.scope) or []
        if not scope:
            return " ".join(granted)
        wanted = set(scope_to_list(scope))
        if not wanted <= set(granted):
            return None
        return " ".join(s for s in api_clients.SCOPES if s in wanted)


class Token(TokenMixin):
    """authlib's view of an `ApiToken` row and its client."""

    def __init__(self, row: ApiToken, client: ApiClient) -> None:
        self.row = row
        self.client = client

    def check_client(self, client):
        return client.get_client_id() == self.client.client_id

    def get_scope(self):
        return self.row.scope

    def get_expires_in(self):
        return max(0, int((self.row.expires_at - self.row.issued_at).total_seconds()))

    def is_expired(self):
        return self.row.expires_at <= utcnow()

    def is_revoked(self):
        return self.row.revoked_at is not None or self.client.revoked_at is not None

    def get_user(self):
        return None

    def get_client(self):
        return Client(self.client)


class _ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


def _quietly(method):
    """authlib's check, with its early 400 for an unknown client turned into "no client", so the
    answer is the same 401 for a wrong id, a wrong secret and a revoked client."""

    def authenticate(query_client, request):
        try:
            return method(query_client, request)
        except InvalidClientError:
            return None

    return authenticate


def _new_access_token(**_kwargs) -> str:
    return secrets.token_urlsafe(32)  # 256 bits; only its SHA-256 is stored


def _expires_in(client, grant_type) -> int:
    return api_clients.token_seconds(current_app.config.get("API_TOKEN_SECONDS"))


class Server(AuthorizationServer):
    """The token endpoint's server. Unbound: it reads the app's config per request."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes_supported = list(api_clients.SCOPES)
        self.register_token_generator("default", BearerTokenGenerator(_new_access_token,
                                                                      expires_generator=_expires_in))
        self.register_grant(_ClientCredentials)
        self.register_client_auth_method("client_secret_basic", _quietly(client_auth.authenticate_client_secret_basic))
        self.register_client_auth_method("client_secret_post", _quietly(client_auth.authenticate_client_secret_post))

    def query_client(self, client_id):
        row = api_clients.find_client(client_id)
        return Client(row) if row is not None else None

    def save_token(self, token, request):
        api_clients.issue_token(request.client.row, token.get("scope", ""), token["access_token"],
                                token["expires_in"])
        db.session.commit()


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        found = api_clients.find_token(token_string)
        return Token(*found) if found else None


class Protector(ResourceProtector):
    """authlib's bearer-token checks, answering in the API's own error format."""

    def raise_error_response(self, error):
        if error.error == "insufficient_scope":
            raise ApiError(403, "insufficient_scope", "Token nie ma uprawnienia wymaganego przez tę operację.",
                           {"WWW-Authenticate": 'Bearer error="insufficient_scope"'})
        raise ApiError(401, "invalid_token", "Brak tokenu albo token jest nieważny, wygasł lub został unieważniony.",
                       {"WWW-Authenticate": 'Bearer realm="legitka", error="invalid_token"'})


server = Server()
require_oauth = Protector()
require_oauth.register_token_validator(_Validator(realm="legitka"))
