"""The admin site and second factors: the admin's own login page is ours (so its logins are
limited, audited and asked for their second factor like any other), and django-otp's device
pages are left out (they would change second factors unaudited, and show their secrets): a
superuser resets a user's second factor on the login settings page."""
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

admin.site.login = login_required(admin.site.login)
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
