"""Logging in and out, the user's own API tokens and second factor, and who must log in how
(mounted at the root)."""
from django.urls import path

from console.accounts import policy_views, two_factor_views, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/tokens/", views.token_list, name="token-list"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("account/two-factor/", two_factor_views.status, name="two-factor"),
    path("account/two-factor/set-up/", two_factor_views.enrol, name="two-factor-enrol"),
    path("account/two-factor/qr.svg", two_factor_views.qr_code, name="two-factor-qr"),
    path("account/two-factor/verify/", two_factor_views.verify, name="two-factor-verify"),
    path("account/two-factor/recovery-codes/", two_factor_views.recovery_codes,
         name="two-factor-recovery-codes"),
    path("account/two-factor/remove/", two_factor_views.remove, name="two-factor-remove"),
    path("login-settings/", policy_views.login_settings, name="login-settings"),
    path("login-settings/reset-two-factor/", policy_views.reset_second_factor,
         name="login-settings-reset-two-factor"),
    path("teams/<int:pk>/two-factor/", policy_views.team_two_factor, name="team-two-factor"),
]
