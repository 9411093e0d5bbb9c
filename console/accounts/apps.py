from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "console.accounts"
    label = "accounts"

    def ready(self):
        from console.accounts import schema  # noqa: F401  (registers the schema extension)
