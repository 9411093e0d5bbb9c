"""A logged-in session that has not passed the second factor it needs reaches only the
two-factor pages (set it up, or give a code), logout and the token endpoint (which asks for
the code itself); pages send it to set up or give its second factor, the API answers 403.
A request that carries an API token is the token's business, not the session's."""
from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from console.accounts import two_factor
from console.accounts.authentication import key_from_header

# The routes an unverified session may reach.
OPEN_ROUTES = frozenset({"two-factor-verify", "two-factor-enrol", "two-factor-qr", "logout",
                         "api:token", "api:schema"})
SAY = "Pass your second factor first: {where}"


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_ROUTES:
            return None
        api = request.path.startswith("/api/")
        if api and key_from_header(request.META.get("HTTP_AUTHORIZATION", "")):
            return None
        if not two_factor.needs_second_factor(user):
            return None
        page = "two-factor-verify" if two_factor.authenticator(user) else "two-factor-enrol"
        if api:
            return JsonResponse({"detail": SAY.format(where=reverse(page))}, status=403)
        response = redirect(page)
        if request.method == "GET":
            response["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return response
