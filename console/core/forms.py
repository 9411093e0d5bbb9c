"""What the pages' forms share: a form for a request the API takes too (run, pull, build), the
team and host choices of such a form, and a username field that gives the active user."""
from django import forms
from django.contrib.auth import get_user_model

from console.core.errors import ConsoleError, Forbidden, on_form
from console.teams.models import Team


class RequestForm(forms.Form):
    """A page's form for a request the API takes too: its fields become the API's
    (`api_fields`), checked as the API checks them (`check`: the action's check, which audits
    a request the user may not make at all), the problems beside their fields. `checked` is
    the request once it holds; `refusal` the Forbidden when the user may not ask it."""

    api_names: dict = {}        # the API's name of a field -> the form's, where they differ

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request, self.user = request, request.user
        self.checked = self.refusal = None

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.checked = self.check(self.api_fields(data))
            except ConsoleError as error:
                self.refusal = error if isinstance(error, Forbidden) else None
                on_form(self, error, self.api_names)
        return data

    def api_fields(self, data: dict) -> dict:
        raise NotImplementedError

    def check(self, fields: dict):
        raise NotImplementedError


def posted_fields(request) -> dict:
    """What a form posted, but its CSRF token (for the audit entry of a refused request)."""
    return {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}


class UserField(forms.CharField):
    """A username in, the active user out."""

    def __init__(self, **kwargs):
        super().__init__(max_length=150, **kwargs)

    def clean(self, value):
        username = super().clean(value).strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No such user: {username}.")
        return user


def offer_teams(field, user, action: str, *, no_team: str) -> None:
    """The teams `user` may `action` in as `field`'s choices: hidden when there is one (or
    none) to choose from; superusers may also choose `no_team`."""
    teams = list(Team.objects.restrict(user, action))
    field.choices = [(t.name, t.name) for t in teams]
    if len(teams) <= 1 and not user.is_superuser:
        field.widget = forms.HiddenInput()
        if teams:
            field.initial = teams[0].name
    elif user.is_superuser:
        field.choices = [("", no_team)] + field.choices


def host_choices(hosts) -> list[tuple[str, str]]:
    """Hosts as choices, those offline said so."""
    return [(h.name, h.name if h.is_online else f"{h.name} (offline)") for h in hosts]
