"""The second factor's pages: what the user has (and whether it is required of them), setting
up an authenticator (its QR code served as an image of its own, so the page keeps the strict
Content-Security-Policy), giving a code after the password, new recovery codes, removing it.
Each change goes through `console.accounts.actions` (audited)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from console.accounts import actions, two_factor
from console.accounts.forms import CodeForm


def next_page(request) -> str:
    """Where to go once done: the `next` this site gave, else the dashboard."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()},
                                                  request.is_secure()):
        return wanted
    return resolve_url("dashboard")


@login_required
@require_safe
def status(request):
    user = request.user
    return render(request, "accounts/two_factor.html", {
        "authenticator": two_factor.authenticator(user),
        "required": two_factor.required_for(user),
        "recovery_codes_left": two_factor.recovery_codes_left(user),
        "needs_code": not two_factor.fresh(request, user),
        "form": CodeForm(),
    })


@never_cache
@login_required
def enrol(request):
    """GET: a new secret (kept in the session until confirmed) as a QR code and as text.
    POST: the code the app shows now confirms it; the recovery codes are shown once."""
    user = request.user
    if two_factor.authenticator(user) is not None:
        messages.info(request, "You have an authenticator already.")
        return redirect("two-factor")
    form, status_code = CodeForm(request.POST or None), 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = actions.set_up_second_factor(request, form.cleaned_data["code"])
        except two_factor.CodeRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            return render(request, "accounts/recovery_codes.html", {
                "codes": codes, "next": next_page(request), "first": True})
    if request.method == "POST":
        status_code = 400
    key = two_factor.pending_key(request)
    return render(request, "accounts/two_factor_enrol.html", {
        "form": form, "secret": two_factor.setup_secret(key),
        "required": two_factor.required_for(user), "next": request.GET.get("next", ""),
        "owes_second_factor": not user.is_verified() and two_factor.needs_second_factor(user),
    }, status=status_code)


@never_cache
@login_required
@require_safe
def qr_code(request):
    """The QR code of the secret being set up, as SVG."""
    import io

    import segno

    uri = two_factor.provisioning_uri(request.user, two_factor.pending_key(request))
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@never_cache
@login_required
def verify(request):
    """After the password: the authenticator's code, or a recovery code."""
    user = request.user
    if user.is_verified() or not two_factor.needs_second_factor(user):
        return redirect(next_page(request))
    if two_factor.authenticator(user) is None:
        return redirect("two-factor-enrol")
    form, status_code = CodeForm(request.POST or None), 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.pass_second_factor(request, form.cleaned_data["code"])
        except two_factor.CodeRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            left = two_factor.recovery_codes_left(user)
            if left <= 3:
                messages.warning(request, f"{left} recovery code{'s' if left != 1 else ''} "
                                          f"left: make new ones on your two-factor page.")
            return redirect(next_page(request))
    if request.method == "POST":
        status_code = 400
    return render(request, "accounts/two_factor_verify.html", {
        "form": form, "next": request.POST.get("next") or request.GET.get("next", ""),
    }, status=status_code)


@login_required
@require_POST
def recovery_codes(request):
    if two_factor.authenticator(request.user) is None:
        messages.error(request, "Set up an authenticator first.")
        return redirect("two-factor")
    try:
        codes = actions.new_recovery_codes(request, request.POST.get("code", ""))
    except two_factor.CodeRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("two-factor")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": "",
                                                             "first": False})


@login_required
@require_POST
def remove(request):
    if two_factor.authenticator(request.user) is None:
        messages.info(request, "You have no authenticator to remove.")
        return redirect("two-factor")
    try:
        actions.remove_second_factor(request, request.POST.get("code", ""))
    except two_factor.CodeRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Your authenticator and recovery codes are removed.")
    return redirect("two-factor")
