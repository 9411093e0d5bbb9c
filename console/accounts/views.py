"""Logging in and out (each audited, failures too) and the user's own API tokens."""
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from console import audit
from console.accounts import actions
from console.accounts.login_limits import LoginLimiter
from console.accounts.models import ApiToken
from console.core.permissions import get_for_user_or_404
from console.streams import publish


@never_cache
@csrf_protect
def login_view(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = AuthenticationForm(request, data=request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    refused = ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        limiter = LoginLimiter(username, request)
        wait = limiter.retry_after()
        if wait:
            audit.record("auth.login", request=request, target_type="user",
                         target_name=username, result="denied", error="too many failed attempts")
            form = AuthenticationForm(request)
            refused = (f"Too many failed attempts from your address. Try again in "
                       f"{-(-wait // 60)} minute(s).")
        elif form.is_valid():
            user = form.get_user()
            with transaction.atomic():
                login(request, user)
                audit.record("auth.login", actor=user, request=request, target=user)
            limiter.succeeded()
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()},
                                                   request.is_secure()):
                next_url = ""
            return redirect(next_url or "dashboard")
        else:
            limiter.failed()
            audit.record("auth.login", request=request, target_type="user",
                         target_name=username, result="failed",
                         error="wrong username or password")
    return render(request, "accounts/login.html", {"form": form, "next": next_url,
                                                        "refused": refused})


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        session_key = request.session.session_key
        audit.record("auth.logout", request=request, target=request.user)
        logout(request)
        if session_key:
            publish.session_ended(session_key)
    return redirect("login")


@login_required
def token_list(request):
    new_key = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:100]
        token, new_key = actions.create_token(request.user, name, request=request)
    return render(request, "accounts/tokens.html", {
        "tokens": ApiToken.objects.restrict(request.user, "view"),
        "new_key": new_key,
    })


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_for_user_or_404(ApiToken.objects, request.user, "view", pk=pk)
    if token.user_id != request.user.pk:
        raise PermissionDenied
    actions.revoke_token(request.user, token, request=request)
    messages.success(request, "Token revoked.")
    return redirect("token-list")
