"""Logging in and out (each audited by `accounts.actions`, failures too) and the user's own API
tokens. (The second factor's pages: `two_factor_views`; the login settings: `policy_views`.)"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from console.accounts import actions, two_factor
from console.accounts.models import ApiToken
from console.core.errors import Forbidden
from console.core.permissions import get_for_user_or_404


@never_cache
@csrf_protect
def login_view(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = AuthenticationForm(request, data=request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    refused = ""
    if request.method == "POST":
        attempt = actions.LoginAttempt("auth.login", request.POST.get("username", ""), request)
        wait = attempt.refused()
        if wait:
            form = AuthenticationForm(request)
            refused = (f"Too many failed attempts from your address. Try again in "
                       f"{-(-wait // 60)} minute(s).")
        elif form.is_valid():
            user = form.get_user()
            actions.log_in(request, user)
            if not two_factor.needs_second_factor(user):
                attempt.succeeded()       # else once the second factor passed, not before
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()},
                                                   request.is_secure()):
                next_url = ""
            return redirect(next_url or "dashboard")
        else:
            attempt.failed()
    return render(request, "accounts/login.html", {
        "form": form, "next": next_url, "refused": refused,
        "single_sign_on": settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""})


@require_POST
def logout_view(request):
    actions.log_out(request)
    return redirect("login")


@login_required
def token_list(request):
    """The user's tokens, and a new one. Who has a second factor gives a code with the name,
    unless their session passed it within the last minutes."""
    new_key, refused, status = None, "", 200
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:100]
        try:
            token, new_key = actions.create_token(request.user, name, request=request,
                                                  code=request.POST.get("code", ""))
        except two_factor.CodeRefused as refusal:
            refused, status = refusal.message, 400
    return render(request, "accounts/tokens.html", {
        "tokens": ApiToken.objects.restrict(request.user, "view"),
        "new_key": new_key,
        "refused": refused,
        "needs_code": (two_factor.authenticator(request.user) is not None
                       and not two_factor.fresh(request, request.user)),
    }, status=status)


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_for_user_or_404(ApiToken.objects, request.user, "view", pk=pk)
    if token.user_id != request.user.pk:
        raise Forbidden("Only its owner revokes a token.")
    actions.revoke_token(request.user, token, request=request)
    messages.success(request, "Token revoked.")
    return redirect("token-list")
