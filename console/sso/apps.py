from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "console.sso"
    label = "sso"
    verbose_name = "single sign-on"
